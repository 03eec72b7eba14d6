// Every model of the zoo, registered where it is defined; importing this module registers them
// all (their experiment components and their original class names).
export { dbn } from './dbn.ts';
export { nafnet } from './nafnet.ts';
export { mscnn } from './mscnn.ts';
export { srn } from './srn.ts';
export { mimoUnet, mimoUnetPlus } from './mimounet.ts';
export { restormer } from './restormer.ts';
export { dblrnet } from './dblrnet.ts';
export { strcnn } from './strcnn.ts';
export { ifirnn } from './ifirnn.ts';
export { estrnn } from './estrnn.ts';
export { edvr } from './edvr.ts';
export { cdvdTsp } from './cdvd-tsp.ts';
export { stfan } from './stfan.ts';
export { pvdnet } from './pvdnet.ts';
