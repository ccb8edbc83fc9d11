/** Public entry of `producers/`: the typed producer SDK (the simulator is `producers/simulator`). */
export * from './sdk';
