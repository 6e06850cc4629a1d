/** Real services for integration tests, each on free 127.0.0.1 ports, each stopped by the test. */
export { startRedis } from './redis.js';
export type { RedisService } from './redis.js';
export { startKafka } from './kafka.js';
export type { KafkaService } from './kafka.js';
export { startVictoriaMetrics } from './victoria-metrics.js';
export type { ExportedSeries, VictoriaMetricsService } from './victoria-metrics.js';
export { startSnmpd } from './snmpd.js';
export type { SnmpdService } from './snmpd.js';
export { startSnmpsim } from './snmpsim.js';
export type { SnmpsimService } from './snmpsim.js';
export { ManagedProcess, findBinary, requireBinary } from './managed-process.js';
export { freeTcpPort, freeUdpPort } from './ports.js';
export { snmpGet } from './snmp-probe.js';
export { startPrometheus } from './prometheus.js';
export type { PrometheusService, PromMatrixSeries, PromVectorSample } from './prometheus.js';
export { startInfluxDb } from './influxdb.js';
export type { InfluxDbService, InfluxQlSeries } from './influxdb.js';
