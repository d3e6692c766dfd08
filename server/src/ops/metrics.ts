// Prometheus metrics (prom-client): readings, verify latency, orders, book depth, outbox depth, settlement lag.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class ServerMetrics {
  readonly registry = new Registry();
  readonly readings = new Counter({ name: 'gridmesh_readings_total', help: 'Signed readings committed', registers: [this.registry] });
  readonly readingBatchSeconds = new Histogram({
    name: 'gridmesh_reading_verify_seconds', help: 'Time to verify and commit one reading batch', registers: [this.registry],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
  });
  readonly orders = new Counter({ name: 'gridmesh_orders_total', help: 'Order commands by result', labelNames: ['command', 'result'], registers: [this.registry] });
  readonly orderSeconds = new Histogram({
    name: 'gridmesh_order_seconds', help: 'Order command latency (verify, match, commit)', registers: [this.registry],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
  });
  readonly trades = new Counter({ name: 'gridmesh_trades_total', help: 'Trades', registers: [this.registry] });
  readonly bookDepth = new Gauge({ name: 'gridmesh_book_depth_wh', help: 'Open quantity in the books of open slots', labelNames: ['market', 'side'], registers: [this.registry] });
  readonly outboxDepth = new Gauge({ name: 'gridmesh_outbox_depth', help: 'Chain outbox rows (slot batches and reward roots) not yet confirmed', registers: [this.registry] });
  readonly settlementLag = new Gauge({ name: 'gridmesh_settlement_lag_seconds', help: 'Age of the oldest slot past its metering window and not yet settled', registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
