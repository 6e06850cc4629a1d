/** Waiting for a condition that no event announces. */

/**
 * Checks `check` every `stepMs` (default 20) until it holds (true) or `timeoutMs` has passed
 * (false). The first check is immediate.
 */
export async function waitFor(check: () => boolean, timeoutMs: number, stepMs = 20): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return true;
}
