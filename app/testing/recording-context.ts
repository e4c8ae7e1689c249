/**
 * A fake CanvasRenderingContext2D that records every call and property write, in the spirit of
 * Firefox Profiler's `mocks/canvas-context.ts`. Draw functions are tested through this log:
 * which rects were filled where, in which colour, not through pixels.
 */

export type DrawOp =
  | {op: 'fillRect'; x: number; y: number; w: number; h: number; fillStyle: string}
  | {op: 'strokeRect'; x: number; y: number; w: number; h: number; strokeStyle: string}
  | {op: 'clearRect'; x: number; y: number; w: number; h: number}
  | {op: 'fillText'; text: string; x: number; y: number; fillStyle: string}
  | {op: 'stroke'; strokeStyle: string}
  | {op: 'fill'; fillStyle: string}
  | {op: 'moveTo'; x: number; y: number}
  | {op: 'lineTo'; x: number; y: number}
  | {op: 'arc'; x: number; y: number; r: number; a0: number; a1: number}
  | {op: 'beginPath'}
  | {op: 'closePath'}
  | {op: 'save'}
  | {op: 'restore'}
  | {op: 'setTransform'; args: number[]};

export interface RecordingContext {
  ctx: CanvasRenderingContext2D;
  log: DrawOp[];
  /** Only the ops of one kind, typed. */
  ops<K extends DrawOp['op']>(kind: K): Extract<DrawOp, {op: K}>[];
}

export function createRecordingContext(widthPx = 800, heightPx = 60): RecordingContext {
  const log: DrawOp[] = [];
  const state = {
    fillStyle: '#000',
    strokeStyle: '#000',
    lineWidth: 1,
    font: '10px sans-serif',
    textAlign: 'start',
    textBaseline: 'alphabetic',
    globalAlpha: 1,
  };
  const stack: (typeof state)[] = [];
  const fake = {
    canvas: {width: widthPx, height: heightPx},
    fillRect: (x: number, y: number, w: number, h: number) =>
      log.push({op: 'fillRect', x, y, w, h, fillStyle: String(state.fillStyle)}),
    strokeRect: (x: number, y: number, w: number, h: number) =>
      log.push({op: 'strokeRect', x, y, w, h, strokeStyle: String(state.strokeStyle)}),
    clearRect: (x: number, y: number, w: number, h: number) =>
      log.push({op: 'clearRect', x, y, w, h}),
    fillText: (text: string, x: number, y: number) =>
      log.push({op: 'fillText', text, x, y, fillStyle: String(state.fillStyle)}),
    measureText: (text: string) => ({width: text.length * 6}),
    beginPath: () => log.push({op: 'beginPath'}),
    closePath: () => log.push({op: 'closePath'}),
    moveTo: (x: number, y: number) => log.push({op: 'moveTo', x, y}),
    lineTo: (x: number, y: number) => log.push({op: 'lineTo', x, y}),
    arc: (x: number, y: number, r: number, a0: number, a1: number) =>
      log.push({op: 'arc', x, y, r, a0, a1}),
    stroke: () => log.push({op: 'stroke', strokeStyle: String(state.strokeStyle)}),
    fill: () => log.push({op: 'fill', fillStyle: String(state.fillStyle)}),
    save: () => {
      stack.push({...state});
      log.push({op: 'save'});
    },
    restore: () => {
      const s = stack.pop();
      if (s) Object.assign(state, s);
      log.push({op: 'restore'});
    },
    setTransform: (...args: number[]) => log.push({op: 'setTransform', args}),
    setLineDash: () => {},
  };
  for (const key of Object.keys(state) as (keyof typeof state)[]) {
    Object.defineProperty(fake, key, {
      get: () => state[key],
      set: (v: never) => {
        state[key] = v;
      },
      enumerable: true,
    });
  }
  return {
    ctx: fake as unknown as CanvasRenderingContext2D,
    log,
    ops: <K extends DrawOp['op']>(kind: K) =>
      log.filter((o): o is Extract<DrawOp, {op: K}> => o.op === kind),
  };
}
