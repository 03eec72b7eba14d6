// Every model of the zoo, registered where it is defined; importing this module registers them
// all (their experiment components and their original class names).
export { dbn } from './dbn.ts';
export { nafnet } from './nafnet.ts';
export * from '../config/models.ts';
