/**
 * The `customers` fold: customer.upserted → UpsertCustomer for the ERP (SPEC §7), per
 * customerId. Only a version newer than the last one sent (by occurredAt, ties the greater
 * eventId) is sent, so a late, older upsert never overwrites newer master data in the ERP.
 */
import type { FoldInput, Step } from '../../runtime/processor/types';
import { ERP_COMMANDS, erpCommand } from '../commands';
import type { CustomerUpserted } from '../types';

export const CUSTOMERS_INPUTS = ['customer.upserted'] as const;
export const CUSTOMERS_OUTPUTS = [ERP_COMMANDS] as const;

export interface CustomerState {
  /** The version last sent. */
  sentAt: number;
  sentEventId: string;
}

export function foldCustomers(previous: CustomerState | undefined, input: FoldInput): Step<CustomerState> {
  const customer = input.value as CustomerUpserted;
  const { eventId, occurredAt } = customer.meta;
  if (previous && (occurredAt < previous.sentAt || (occurredAt === previous.sentAt && eventId <= previous.sentEventId))) {
    return { state: previous, outputs: [] };
  }
  const command = erpCommand('UpsertCustomer', customer.customerId, { topic: input.topic, meta: customer.meta }, {
    customerId: customer.customerId,
    name: customer.name,
    email: customer.email ?? null,
    creditLimitMinor: customer.creditLimitMinor ?? null,
    creditHold: customer.creditHold ?? false,
    updatedAt: occurredAt,
  });
  return { state: { sentAt: occurredAt, sentEventId: eventId }, outputs: [command] };
}
