/**
 * The processor registry: every processor by name, as topology.yaml names them. The runtime
 * looks processors up here; adding one means adding its folder and a line below.
 */
import atp from './atp';
import customers from './customers';
import orders from './orders';

export const processors = { orders, atp, customers } as const;

export type ProcessorName = keyof typeof processors;
