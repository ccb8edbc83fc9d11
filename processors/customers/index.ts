/** The `customers` processor declaration (./fold.ts): customer master data to the ERP. */
import { defineProcessor } from '../../runtime/processor/types';
import { CUSTOMERS_INPUTS, CUSTOMERS_OUTPUTS, foldCustomers, type CustomerState } from './fold';

export default defineProcessor<CustomerState, null>({
  name: 'customers',
  inputs: CUSTOMERS_INPUTS,
  tables: [],
  outputs: CUSTOMERS_OUTPUTS,
  keyOf: (_topic, value) => (value as { customerId: string }).customerId,
  fold: (state, input) => foldCustomers(state, input),
  createContext: () => null,
});
