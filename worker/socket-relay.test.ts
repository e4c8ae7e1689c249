import {describe, expect, it} from 'vitest';
import {relayWebSocket, type RelayPort} from './socket-relay.ts';

/** A relay worker stand-in: records the commands, lets the test play the socket's events. */
function fakePort() {
  const sent: unknown[] = [];
  let terminated = false;
  const port: RelayPort = {
    onmessage: null,
    onerror: null,
    postMessage: (m) => sent.push(m),
    terminate: () => (terminated = true),
  };
  const emit = (data: Parameters<NonNullable<RelayPort['onmessage']>>[0]['data']) =>
    port.onmessage?.({data});
  return {port, sent, emit, terminated: () => terminated};
}

describe('relayWebSocket', () => {
  it('opens the socket in the relay, passes messages on and sends only while open', () => {
    const f = fakePort();
    const WS = relayWebSocket(() => f.port);
    const ws = new WS('ws://127.0.0.1:1/ws?token=t');
    expect(f.sent).toEqual([{op: 'open', url: 'ws://127.0.0.1:1/ws?token=t'}]);
    const got: unknown[] = [];
    let opened = 0;
    ws.onopen = () => opened++;
    ws.onmessage = (e) => got.push(e.data);
    ws.send(new Uint8Array([1])); // not open yet: dropped, as a real socket would refuse
    expect(f.sent).toHaveLength(1);
    f.emit({ev: 'open'});
    expect(ws.readyState).toBe(1);
    expect(opened).toBe(1);
    const buf = new ArrayBuffer(8);
    f.emit({ev: 'message', data: buf});
    expect(got).toEqual([buf]);
    expect(got[0]).toBe(buf); // the transferred buffer itself, no copy
    ws.send(new Uint8Array([2, 3]));
    expect(f.sent[1]).toEqual({op: 'send', data: new Uint8Array([2, 3])});
  });

  it('closes through the relay and ends the relay worker with the socket', () => {
    const f = fakePort();
    const ws = new (relayWebSocket(() => f.port))('ws://x/ws');
    const closes: {code: number; reason: string}[] = [];
    ws.onclose = (e) => closes.push(e);
    f.emit({ev: 'open'});
    ws.close(1000, 'bye');
    expect(ws.readyState).toBe(2);
    expect(f.sent.at(-1)).toEqual({op: 'close', code: 1000, reason: 'bye'});
    f.emit({ev: 'close', code: 1000, reason: 'bye'});
    expect(ws.readyState).toBe(3);
    expect(f.terminated()).toBe(true);
    expect(closes).toEqual([{code: 1000, reason: 'bye'}]);
  });

  it('reports a relay worker that failed as an error and an abnormal close', () => {
    const f = fakePort();
    const ws = new (relayWebSocket(() => f.port))('ws://x/ws');
    const events: string[] = [];
    ws.onerror = () => events.push('error');
    ws.onclose = (e) => events.push(`close ${e.code}`);
    f.port.onerror?.(new Error('script failed to load'));
    expect(events).toEqual(['error', 'close 1006']);
    expect(ws.readyState).toBe(3);
    expect(f.terminated()).toBe(true);
  });
});
