// The public entry point: the experiment language with every built-in component registered.
export * from './config/index.ts';
export * from './components.ts';
