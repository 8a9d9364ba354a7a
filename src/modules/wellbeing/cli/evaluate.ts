// npm run eval:wellbeing: scores the alert rules on simulated homes against their injected labels.
// WELLBEING_EVAL_HOMES (default 200), WELLBEING_EVAL_DAYS (90), WELLBEING_EVAL_SEED (1).
import { evaluate, formatEvaluation } from '../evaluation.ts';

const homes = Number(process.env.WELLBEING_EVAL_HOMES ?? 200);
const days = Number(process.env.WELLBEING_EVAL_DAYS ?? 90);
const seed = Number(process.env.WELLBEING_EVAL_SEED ?? 1);
const result = evaluate(homes, days, seed);
console.log(formatEvaluation(result));
const welfare = result.rows.find((r) => r.type === 'no_activity')!;
const met =
  (welfare.recallInTime ?? 0) >= 0.9 &&
  (welfare.precision ?? 0) >= 0.8 &&
  result.falseAlertsPerHomePerMonth < 2;
console.log(met ? 'Goals met.' : 'Goals NOT met.');
process.exitCode = met ? 0 : 1;
