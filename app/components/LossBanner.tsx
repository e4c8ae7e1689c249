/**
 * A clear banner when kernel loss or delivery gaps grow. Eviction is not loss: the window
 * summary in the header covers it.
 */
import {useAppStore} from '../store.ts';
import {hasNewLoss} from '../store/stats-slice.ts';
import {fmtInt} from './format.ts';

export function LossBanner() {
  const loss = useAppStore((s) => s.loss);
  const ack = useAppStore((s) => s.lossAcknowledged);
  const acknowledge = useAppStore((s) => s.acknowledgeLoss);
  if (!hasNewLoss(loss, ack)) return null;
  const parts: string[] = [];
  const k = loss.kernelEvents - ack.kernelEvents;
  const sb = loss.derivedSubbufs - ack.derivedSubbufs;
  const d = loss.deliveryGaps - ack.deliveryGaps;
  if (k > 0) parts.push(`${fmtInt(k)} events overwritten by the kernel`);
  if (sb > 0) parts.push(`${fmtInt(sb)} sub-buffers skipped (derived)`);
  if (d > 0) parts.push(`${fmtInt(d)} lost in delivery (this client was too slow)`);
  return (
    <div className="banner loss" role="alert" data-testid="loss-banner">
      <strong>Events were lost.</strong> {parts.join(' · ')}. Red marks on the timelines show where.
      {k > 0 && ' Enlarge the buffer (--buffer-kb) or trace fewer events.'}
      <button onClick={acknowledge}>Dismiss</button>
    </div>
  );
}
