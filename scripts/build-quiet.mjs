#!/usr/bin/env node
// Builds the small addon that keeps TensorFlow's start-up lines off stderr (see
// src/runtime/quiet.ts) into the setup cache. Setup runs it; the runtime also builds it on first
// use. It is optional, so a failed build is reported and the exit status stays 0.
//
// Usage: node scripts/build-quiet.mjs [--if-missing]
import fs from 'node:fs';
import { register } from 'tsx/esm/api';

register();
const { buildQuietAddon, quietAddonFile } = await import('../src/runtime/quiet.ts');
if (process.argv.includes('--if-missing') && fs.existsSync(quietAddonFile())) process.exit(0);
const r = buildQuietAddon();
if (r.ok) console.log(`[setup] stderr helper built: ${r.file}`);
else console.warn(`[setup] stderr helper not built (TensorFlow's start-up lines will show): ${r.why}`);
