import fc from 'fast-check';

/**
 * Property tests draw from one fixed seed by default, so `npm test` gives the same verdict on
 * every run and a CI failure reproduces locally. `FC_SEED=<integer>` picks another seed and
 * `FC_SEED=random` a fresh one per run (fast-check prints it with any counterexample); use those
 * to explore, and add what they find as an `examples` entry of the property.
 */
const DEFAULT_SEED = 20261121;

const raw = process.env.FC_SEED;
if (raw !== 'random') {
  const seed = raw === undefined || raw === '' ? DEFAULT_SEED : Number(raw);
  if (!Number.isSafeInteger(seed)) throw new Error(`FC_SEED must be an integer or "random", got ${raw}`);
  fc.configureGlobal({ seed });
}
