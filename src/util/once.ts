// Values built from `tf` (custom-gradient ops, constants) are made on first use rather than at
// import, so that importing a module does not load the TensorFlow runtime.

/** Calls `make` on the first call and returns its result then and ever after. */
export function once<T>(make: () => T): () => T {
  let made = false;
  let value: T;
  return () => {
    if (!made) {
      value = make();
      made = true;
    }
    return value;
  };
}
