/**
 * Wheel, drag and W/A/S/D for the timelines, as store actions. Pure functions of the event and
 * the current viewport so the mapping is testable without a browser.
 *
 *   wheel ↕            zoom around the pointer (deltaY > 0 zooms out)
 *   shift+wheel / ↔    pan
 *   drag               pan
 *   W / S              zoom in / out around the centre (or the pointer when over a timeline)
 *   A / D              pan left / right by 10 % of the span
 *   End / F            follow live
 */
import type {AppState} from '../store.ts';

export const ZOOM_PER_WHEEL_PX = 0.0025;
export const KEY_ZOOM = 0.8;
export const KEY_PAN = 0.1;

export interface WheelLike {
  deltaX: number;
  deltaY: number;
  deltaMode: number;
  shiftKey: boolean;
}

/** Apply a wheel event at `xFrac` (0..1 of the width) to the store. */
export function applyWheel(st: AppState, e: WheelLike, xFrac: number): void {
  // deltaMode 1 = lines (Firefox): ~16 px per line.
  const unit = e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? 400 : 1;
  const dx = e.deltaX * unit;
  const dy = e.deltaY * unit;
  const {startNs, endNs} = st.viewport;
  if (e.shiftKey || Math.abs(dx) > Math.abs(dy)) {
    const d = e.shiftKey && dx === 0 ? dy : dx;
    st.panByFraction(d / 1000);
    return;
  }
  const anchor = startNs + xFrac * (endNs - startNs);
  st.zoomAt(anchor, Math.exp(dy * ZOOM_PER_WHEEL_PX));
}

/** Handle a key; returns true when it was ours. `xFrac` is where zoom anchors (0.5 = centre). */
export function applyKey(st: AppState, key: string, xFrac = 0.5): boolean {
  const {startNs, endNs} = st.viewport;
  const anchor = startNs + xFrac * (endNs - startNs);
  switch (key.toLowerCase()) {
    case 'w':
      st.zoomAt(anchor, KEY_ZOOM);
      return true;
    case 's':
      st.zoomAt(anchor, 1 / KEY_ZOOM);
      return true;
    case 'a':
      st.panByFraction(-KEY_PAN);
      return true;
    case 'd':
      st.panByFraction(KEY_PAN);
      return true;
    case 'end':
    case 'f':
      st.setFollowLive(true);
      return true;
    default:
      return false;
  }
}
