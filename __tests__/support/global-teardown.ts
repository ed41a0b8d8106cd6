/** Stops what the global setup started. */
export default async function globalTeardown(): Promise<void> {
  await globalThis.__FLUXGATE_REGISTRY__?.stop();
}
