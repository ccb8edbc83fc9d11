/**
 * Commands for the ERP and the CRM (SPEC §7) as processor outputs: the envelope
 * `{ commandId, type, correlationId, occurredAt, payload }` on `erp.commands` / `crm.commands`,
 * keyed by the entity (orderId, customerId or sku@warehouse).
 *
 * `commandId` is deterministic from the cause — the topic and eventId of the event that made the
 * processor emit it —, the command type and a digest of the payload, so a replay or a rebuild
 * re-emits the same id and a receiver honouring `Idempotency-Key` applies it once. The payload is
 * part of the id because for some commands one cause can lead to different payloads in different
 * histories (a rebuild may fold an order's events in another order and pass through other
 * intermediate states: the lines a cancelled order reports, an availability figure): one id then
 * never carries two bodies, by construction.
 */
import { hash } from 'node:crypto';
import { deterministicId } from '../runtime/processor/ids';
import type { Output } from '../runtime/processor/types';
import type { Meta } from './types';

export const ERP_COMMANDS = 'erp.commands';
export const CRM_COMMANDS = 'crm.commands';

export type ErpCommandType =
  | 'CreateSalesOrder'
  | 'UpdateSalesOrder'
  | 'CancelSalesOrder'
  | 'PostGoodsIssue'
  | 'PostInventoryAdjustment'
  | 'PostCycleCount'
  | 'CreateCreditMemo'
  | 'UpsertCustomer';

export type CrmCommandType = 'UpdateOrderStatus' | 'RejectOrder' | 'NotifyBackorder' | 'NotifyShipment' | 'UpdateAvailability';

export interface CommandValue {
  commandId: string;
  type: ErpCommandType | CrmCommandType;
  correlationId: string | null;
  occurredAt: number;
  payload: Record<string, unknown>;
}

export interface Cause {
  topic: string;
  meta: Meta;
}

function command(topic: string, type: ErpCommandType | CrmCommandType, key: string, cause: Cause, payload: Record<string, unknown>): Output {
  const digest = hash('sha256', JSON.stringify(payload), 'hex').slice(0, 16);
  const role = `command:${type}:${digest}`;
  const value: CommandValue = {
    commandId: deterministicId(cause.topic, cause.meta.eventId, role),
    type,
    correlationId: cause.meta.correlationId ?? null,
    occurredAt: cause.meta.occurredAt,
    payload,
  };
  return { topic, key, value };
}

export function erpCommand(type: ErpCommandType, key: string, cause: Cause, payload: Record<string, unknown>): Output {
  return command(ERP_COMMANDS, type, key, cause, payload);
}

export function crmCommand(type: CrmCommandType, key: string, cause: Cause, payload: Record<string, unknown>): Output {
  return command(CRM_COMMANDS, type, key, cause, payload);
}
