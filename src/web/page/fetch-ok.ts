// A fetch whose failures (network or HTTP status) name the URL.

/** Fetches `url`; throws an Error naming the URL when the request fails or is not 2xx. */
export async function fetchOk(url: URL): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (err) {
    throw new Error(`cannot fetch ${url.href}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!res.ok) throw new Error(`cannot fetch ${url.href}: HTTP ${res.status} ${res.statusText}`);
  return res;
}
