// Module files named at run time (worker entry points, dataset factories for worker threads)
// must match how the code runs: `.ts` sources under tsx in a checkout, compiled `.js` in the
// published package.

/** True when the module with this `import.meta.url` is compiled JavaScript. */
export function isCompiled(metaUrl: string): boolean {
  return /\.[cm]?js$/.test(new URL(metaUrl).pathname);
}

/**
 * The URL of a module next to `metaUrl`, given by its source name (`../data/components.ts`):
 * its `.js` counterpart when the caller runs compiled.
 */
export function siblingModule(relative: string, metaUrl: string): URL {
  return new URL(isCompiled(metaUrl) ? relative.replace(/\.ts$/, '.js') : relative, metaUrl);
}
