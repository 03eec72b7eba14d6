// The built-in protocols, and loading a protocol by name or from a user's file (its default
// export, checked by the protocol codec).
import fs from 'node:fs';
import path from 'node:path';
import { isLeft } from 'fp-ts/lib/Either.js';
import { loadRecipe } from '../../cli/recipe-file.ts';
import { decodeProtocol, type Protocol } from '../protocol.ts';
import { quick } from './quick.ts';
import { smoke } from './smoke.ts';
import { standard } from './standard.ts';

/** The protocols `--protocol` knows by name. */
export const builtinProtocols: Readonly<Record<'smoke' | 'quick' | 'standard', Protocol>> = { smoke, quick, standard };

/** A protocol and the file it came from (none for a built-in). */
export interface LoadedProtocol {
  readonly protocol: Protocol;
  readonly file?: string;
}

/**
 * The protocol `nameOrFile` names: a built-in, or a module (`.ts`, `.js`, `.mjs`) whose default
 * export is a protocol value, decoded with its problems listed by key.
 */
export async function loadProtocol(nameOrFile: string): Promise<LoadedProtocol> {
  const builtin = (builtinProtocols as Record<string, Protocol>)[nameOrFile];
  if (builtin !== undefined) return { protocol: builtin };
  const file = path.resolve(nameOrFile);
  if (!/\.[cm]?[jt]s$/.test(nameOrFile) || !fs.existsSync(file)) {
    throw new Error(`unknown protocol '${nameOrFile}': expected ${Object.keys(builtinProtocols).join(', ')}, or a protocol file (FILE.ts) that exists`);
  }
  let value: unknown;
  try {
    value = await loadRecipe(file);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new Error(/has no default export/.test(msg) ? `protocol ${nameOrFile} has no default export (export default protocol({...}))` : msg.replace(/^cannot load recipe/, 'cannot load protocol'));
  }
  const decoded = decodeProtocol(value);
  if (isLeft(decoded)) throw new Error(`invalid protocol in ${nameOrFile}:\n  ${decoded.left.join('\n  ')}`);
  return { protocol: decoded.right, file };
}
