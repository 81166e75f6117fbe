/**
 * Promise.all that waits for every promise to end before it rejects, with
 * the first failure in their order: what fails is acted on (a refusal, a
 * rollback) only once nothing started beside it still runs.
 */
export async function allEnded<T>(promises: readonly Promise<T>[]): Promise<T[]> {
  const outcomes = await Promise.allSettled(promises);
  const failed = outcomes.find((outcome) => outcome.status === 'rejected');
  if (failed) throw failed.reason;
  return outcomes.map((outcome) => (outcome as PromiseFulfilledResult<T>).value);
}
