/**
 * Builds the Grafana dashboards in dashboards/ from the panel list below: interfaces and device
 * health, each for a Prometheus data source (PromQL over the remote-write or scraped names) and
 * an InfluxDB data source (InfluxQL over the line protocol the InfluxDB consumer writes).
 *
 *   npx tsx scripts/build-dashboards.ts          writes dashboards/*.json
 *
 * A test checks that the files are what this builds, and runs every query against real servers
 * the pipeline wrote to (test/dashboards/dashboards.int.test.ts).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

type Json = Record<string, unknown>;

/** One panel: a PromQL and an InfluxQL form of the same question. */
interface PanelSpec {
  readonly title: string;
  readonly unit: string;
  readonly promql: readonly { readonly expr: string; readonly legend: string }[];
  /** InfluxQL with Grafana's `$timeFilter` and `$__interval`; aliases use `$tag_<key>`. */
  readonly influxql: readonly { readonly query: string; readonly alias: string }[];
}

/** A variable: the PromQL label_values() and the InfluxQL SHOW TAG VALUES forms. */
interface VariableSpec {
  readonly name: string;
  readonly label: string;
  readonly promql: string;
  readonly influxql: string;
}

interface DashboardSpec {
  readonly file: string;
  readonly title: string;
  readonly uid: string;
  readonly variables: readonly VariableSpec[];
  readonly panels: readonly PanelSpec[];
}

/** PromQL label matchers of the variables. */
const IF = 'resource_site=~"$site",resource_id=~"$device",interface_name=~"$interface"';
const DEV = 'resource_site=~"$site",resource_id=~"$device"';
/** InfluxQL conditions of the variables. */
const IF_WHERE = `"resource_site" =~ /^$site$/ AND "resource_id" =~ /^$device$/ AND "interface_name" =~ /^$interface$/ AND $timeFilter`;
const DEV_WHERE = `"resource_site" =~ /^$site$/ AND "resource_id" =~ /^$device$/ AND $timeFilter`;

const ifPanel = (title: string, unit: string, metrics: readonly [string, string][]): PanelSpec => ({
  title,
  unit,
  promql: metrics.map(([m, dir]) => ({
    expr: `panoptes_interface_${m}{${IF}}`,
    legend: `{{resource_id}} {{interface_name}} ${dir}`,
  })),
  influxql: metrics.map(([m, dir]) => ({
    query: `SELECT mean("${m}__gauge") FROM "interface" WHERE ${IF_WHERE} GROUP BY time($__interval), "resource_id", "interface_name" fill(none)`,
    alias: `$tag_resource_id $tag_interface_name ${dir}`,
  })),
});

const siteVar: VariableSpec = {
  name: 'site',
  label: 'Site',
  promql: 'label_values(panoptes_status_polling_status, resource_site)',
  influxql: 'SHOW TAG VALUES FROM "status" WITH KEY = "resource_site"',
};
const deviceVar = (measurement: string, metric: string): VariableSpec => ({
  name: 'device',
  label: 'Device',
  promql: `label_values(${metric}{resource_site=~"$site"}, resource_id)`,
  influxql: `SHOW TAG VALUES FROM "${measurement}" WITH KEY = "resource_id" WHERE "resource_site" =~ /^$site$/`,
});

export const DASHBOARDS: readonly DashboardSpec[] = [
  {
    file: 'interfaces',
    title: 'Panoptes: interfaces',
    uid: 'panoptes-interfaces',
    variables: [
      siteVar,
      deviceVar('interface', 'panoptes_interface_bits_in'),
      {
        name: 'interface',
        label: 'Interface',
        promql: 'label_values(panoptes_interface_bits_in{resource_id=~"$device"}, interface_name)',
        influxql:
          'SHOW TAG VALUES FROM "interface" WITH KEY = "interface_name" WHERE "resource_id" =~ /^$device$/',
      },
    ],
    panels: [
      ifPanel('Traffic', 'bps', [
        ['bits_in', 'in'],
        ['bits_out', 'out'],
      ]),
      ifPanel('Unicast packets', 'pps', [
        ['unicast_packets_in', 'in'],
        ['unicast_packets_out', 'out'],
      ]),
      ifPanel('Errors', 'pps', [
        ['errors_in', 'in'],
        ['errors_out', 'out'],
      ]),
      ifPanel('Discards', 'pps', [
        ['discards_in', 'in'],
        ['discards_out', 'out'],
      ]),
      {
        title: 'Operational state (1 up, 2 down)',
        unit: 'none',
        promql: [
          { expr: `panoptes_interface_oper_state{${IF}}`, legend: '{{resource_id}} {{interface_name}}' },
        ],
        influxql: [
          {
            query: `SELECT last("oper_state__gauge") FROM "interface" WHERE ${IF_WHERE} GROUP BY time($__interval), "resource_id", "interface_name" fill(none)`,
            alias: '$tag_resource_id $tag_interface_name',
          },
        ],
      },
      {
        title: 'Busiest interfaces in (top 10)',
        unit: 'bps',
        promql: [
          {
            expr: `topk(10, panoptes_interface_bits_in{${IF}})`,
            legend: '{{resource_id}} {{interface_name}}',
          },
        ],
        influxql: [
          {
            query: `SELECT top("bits_in__gauge", "interface_name", 10) FROM "interface" WHERE ${IF_WHERE} GROUP BY "resource_id"`,
            alias: '$tag_resource_id',
          },
        ],
      },
    ],
  },
  {
    file: 'device-health',
    title: 'Panoptes: device health',
    uid: 'panoptes-device-health',
    variables: [siteVar, deviceVar('status', 'panoptes_status_polling_status')],
    panels: [
      {
        title:
          'Polling status (0 success; 1 auth, 2 network, 3 timeout, 4 partial, 5 internal, 6 missing data)',
        unit: 'none',
        promql: [{ expr: `panoptes_status_polling_status{${DEV}}`, legend: '{{resource_id}} {{plugin}}' }],
        influxql: [
          {
            query: `SELECT last("polling_status__gauge") FROM "status" WHERE ${DEV_WHERE} GROUP BY time($__interval), "resource_id", "plugin" fill(none)`,
            alias: '$tag_resource_id $tag_plugin',
          },
        ],
      },
      {
        title: 'CPU',
        unit: 'percent',
        promql: [{ expr: `panoptes_cpu_cpu_utilization{${DEV}}`, legend: '{{resource_id}} {{cpu_name}}' }],
        influxql: [
          {
            query: `SELECT mean("cpu_utilization__gauge") FROM "cpu" WHERE ${DEV_WHERE} GROUP BY time($__interval), "resource_id", "cpu_name" fill(none)`,
            alias: '$tag_resource_id $tag_cpu_name',
          },
        ],
      },
      {
        title: 'Memory used',
        unit: 'percent',
        promql: [
          {
            expr: `100 * panoptes_memory_memory_used{${DEV}} / panoptes_memory_memory_total{${DEV}}`,
            legend: '{{resource_id}} {{memory_type}}',
          },
        ],
        influxql: [
          {
            query: `SELECT 100 * mean("memory_used__gauge") / mean("memory_total__gauge") FROM "memory" WHERE ${DEV_WHERE} GROUP BY time($__interval), "resource_id", "memory_type" fill(none)`,
            alias: '$tag_resource_id $tag_memory_type',
          },
        ],
      },
      {
        title: 'Temperatures',
        unit: 'fahrenheit',
        promql: [
          {
            expr: `panoptes_environment_temperature_fahrenheit{${DEV}}`,
            legend: '{{resource_id}} {{sensor}}',
          },
        ],
        influxql: [
          {
            query: `SELECT mean("temperature_fahrenheit__gauge") FROM "environment" WHERE ${DEV_WHERE} GROUP BY time($__interval), "resource_id", "sensor" fill(none)`,
            alias: '$tag_resource_id $tag_sensor',
          },
        ],
      },
      {
        title: 'Storage used',
        unit: 'percent',
        promql: [
          {
            expr: `100 * panoptes_disk_storage_used_bytes{${DEV}} / panoptes_disk_storage_total_bytes{${DEV}}`,
            legend: '{{resource_id}} {{storage_description}}',
          },
        ],
        influxql: [
          {
            query: `SELECT 100 * mean("storage_used_bytes__gauge") / mean("storage_total_bytes__gauge") FROM "disk" WHERE ${DEV_WHERE} GROUP BY time($__interval), "resource_id", "storage_description" fill(none)`,
            alias: '$tag_resource_id $tag_storage_description',
          },
        ],
      },
      {
        title: 'Load average (1 min)',
        unit: 'none',
        promql: [{ expr: `panoptes_load_load_average_1m{${DEV}}`, legend: '{{resource_id}}' }],
        influxql: [
          {
            query: `SELECT mean("load_average_1m__gauge") FROM "load" WHERE ${DEV_WHERE} GROUP BY time($__interval), "resource_id" fill(none)`,
            alias: '$tag_resource_id',
          },
        ],
      },
      {
        title: 'Uptime',
        unit: 's',
        promql: [{ expr: `panoptes_device_uptime_seconds{${DEV}}`, legend: '{{resource_id}}' }],
        influxql: [
          {
            query: `SELECT last("uptime_seconds__gauge") FROM "device" WHERE ${DEV_WHERE} GROUP BY time($__interval), "resource_id" fill(none)`,
            alias: '$tag_resource_id',
          },
        ],
      },
    ],
  },
];

type Flavour = 'prometheus' | 'influxdb';

function variable(v: VariableSpec, flavour: Flavour): Json {
  const query = flavour === 'prometheus' ? v.promql : v.influxql;
  return {
    name: v.name,
    label: v.label,
    type: 'query',
    datasource: { type: flavour, uid: '${datasource}' },
    definition: query,
    query: flavour === 'prometheus' ? { query, refId: `${v.name}-query` } : query,
    refresh: 2,
    includeAll: true,
    multi: true,
    allValue: '.*',
    current: { text: 'All', value: '$__all' },
    sort: 1,
  };
}

/** One dashboard's Grafana JSON model for a data source type. */
export function dashboardJson(spec: DashboardSpec, flavour: Flavour): Json {
  const datasource = { type: flavour, uid: '${datasource}' };
  const panels = spec.panels.map((p, i) => ({
    id: i + 1,
    type: 'timeseries',
    title: p.title,
    datasource,
    gridPos: { h: 8, w: 12, x: (i % 2) * 12, y: Math.floor(i / 2) * 8 },
    fieldConfig: { defaults: { unit: p.unit }, overrides: [] },
    options: { legend: { displayMode: 'list', placement: 'bottom' }, tooltip: { mode: 'multi' } },
    targets:
      flavour === 'prometheus'
        ? p.promql.map((t, k) => ({
            refId: String.fromCharCode(65 + k),
            datasource,
            expr: t.expr,
            legendFormat: t.legend,
          }))
        : p.influxql.map((t, k) => ({
            refId: String.fromCharCode(65 + k),
            datasource,
            rawQuery: true,
            query: t.query,
            resultFormat: 'time_series',
            alias: t.alias,
          })),
  }));
  return {
    title: `${spec.title} (${flavour === 'prometheus' ? 'Prometheus' : 'InfluxDB'})`,
    uid: `${spec.uid}-${flavour === 'prometheus' ? 'prom' : 'influx'}`,
    tags: ['panoptes'],
    editable: true,
    schemaVersion: 39,
    version: 1,
    time: { from: 'now-1h', to: 'now' },
    refresh: '30s',
    templating: {
      list: [
        {
          name: 'datasource',
          label: 'Data source',
          type: 'datasource',
          query: flavour,
          current: {},
          hide: 0,
        },
        ...spec.variables.map((v) => variable(v, flavour)),
      ],
    },
    panels,
  };
}

/** Every dashboard file: name -> JSON text. */
export function buildDashboards(): Map<string, string> {
  const out = new Map<string, string>();
  for (const spec of DASHBOARDS)
    for (const flavour of ['prometheus', 'influxdb'] as const)
      out.set(`${spec.file}-${flavour}.json`, `${JSON.stringify(dashboardJson(spec, flavour), null, 2)}\n`);
  return out;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const dir = fileURLToPath(new URL('../dashboards/', import.meta.url));
  for (const [file, text] of buildDashboards()) writeFileSync(join(dir, file), text);
  console.log(`wrote ${[...buildDashboards().keys()].join(', ')} to ${dir}`);
}
