// The page's script. The same bundle runs twice: in the page, where it drives the interface,
// and in a module worker the page starts from it, where it runs the model (so that a long
// restoration never freezes the page).
import { startPage } from './ui.ts';
import { runWorker } from './worker.ts';

if (typeof document === 'undefined') runWorker(globalThis as unknown as Parameters<typeof runWorker>[0]);
else startPage(import.meta.url);
