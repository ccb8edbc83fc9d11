/**
 * The producer SDK: `createPublisher(config)` and the value type of every source topic.
 *
 *   const publisher = createPublisher();            // connection from env or `tributary dev up`
 *   await publisher.publish('order.created', order); // validated, keyed, Avro, CloudEvents headers
 *   await publisher.close();                          // flushes first
 */
export { createPublisher, type Publisher, type PublisherConfig, type PublishOptions, type PublishRecord, type EncodedEvent, type PublishSummary, type ManyOptions } from './publisher';
export { encodeEvent, publishableSchema, problemsOf, isPublishable, type EncodeOptions } from './encode';
export { validateEvent, formatPath, CODE_PATTERN, CODE_FIELDS } from './validate';
export { cloudEventHeaders, confluentFrame } from './envelope';
export * from './types';
