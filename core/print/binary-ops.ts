/**
 * The binary operators that libtraceevent's print-fmt evaluator (eval_num_arg) and its constant
 * folder (arg_num_eval) both know, with the same results except for how `+ - <<` wrap: 64-bit
 * unsigned when evaluating records, signed when folding constants. `undefined` means the
 * operator is not in this table (each caller handles its own extras).
 */
export function binaryOp(
  op: string,
  l: bigint,
  r: bigint,
  wrap: (v: bigint) => bigint,
): bigint | undefined {
  switch (op) {
    case '|':
      return l | r;
    case '||':
      return l !== 0n || r !== 0n ? 1n : 0n;
    case '&':
      return l & r;
    case '&&':
      return l !== 0n && r !== 0n ? 1n : 0n;
    case '<':
      return l < r ? 1n : 0n;
    case '<<':
      return wrap(l << (r & 63n));
    case '<=':
      return l <= r ? 1n : 0n;
    case '>':
      return l > r ? 1n : 0n;
    case '>>':
      return l >> (r & 63n);
    case '>=':
      return l >= r ? 1n : 0n;
    case '==':
      return l === r ? 1n : 0n;
    case '!=':
      return l !== r ? 1n : 0n;
    case '-':
      return wrap(l - r);
    case '+':
      return wrap(l + r);
    default:
      return undefined;
  }
}
