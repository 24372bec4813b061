import { describe, expect, it } from "vitest";
import { StatsStore } from "../host/stats/store.ts";
import { TagConfigError, TagProducer, extractRegexPrefix } from "../host/stats/tag-extractor.ts";
import { formatG } from "../host/stats/format.ts";
import { metricName } from "../host/stats/prometheus.ts";

// The pattern host/stats/README.md tells filters to use: `name;.;key=.=value;.;...`.
const AI_TAGS = [
  { tagName: "ai_provider", regex: String.raw`(;\.;ai_provider=\.=(.*?);\.;)` },
  { tagName: "ai_model", regex: String.raw`(;\.;ai_model=\.=(.*?);\.;)` },
];

const lines = (text: string) => text.split("\n").filter((l) => l !== "");

describe("tag extraction", () => {
  it("turns Istio-style delimited names into a clean name plus labels, in stats_tags order", () => {
    const s = new StatsStore({ tagSpecifiers: AI_TAGS });
    s.counter("wasmcustom.ai_llm_requests_total;.;ai_provider=.=openai;.;ai_model=.=gpt-4.1;.;").add(1);
    expect(lines(s.renderPrometheus())).toEqual([
      "# TYPE ai_llm_requests_total counter",
      'ai_llm_requests_total{ai_provider="openai",ai_model="gpt-4.1"} 1',
    ]);
  });

  it("leaves a clean name whatever the order of the pairs, and with a single pair", () => {
    const p = new TagProducer({ tagSpecifiers: AI_TAGS, useAllDefaultTags: true });
    expect(p.produceTags("wasmcustom.x;.;ai_model=.=claude-3.5;.;ai_provider=.=anthropic;.;")).toEqual({
      tagExtractedName: "wasmcustom.x",
      tags: [
        { name: "ai_provider", value: "anthropic" },
        { name: "ai_model", value: "claude-3.5" },
      ],
    });
    expect(p.produceTags("wasmcustom.y;.;ai_model=.=m;.;").tagExtractedName).toBe("wasmcustom.y");
  });

  it("applies Envoy's default extractors to Envoy's own stats", () => {
    const s = new StatsStore();
    s.counter("cluster.openai.upstream_rq_total").add(3);
    expect(lines(s.renderPrometheus())).toEqual([
      "# TYPE envoy_cluster_upstream_rq_total counter",
      'envoy_cluster_upstream_rq_total{envoy_cluster_name="openai"} 3',
    ]);
  });

  // Stat names and expected results from Envoy's own tag extractor tests.
  const cases: [string, string, Record<string, string>][] = [
    ["cluster.ratelimit.upstream_rq_timeout", "cluster.upstream_rq_timeout", { "envoy.cluster_name": "ratelimit" }],
    ["cluster.ratelimit.ssl.ciphers.ECDHE-RSA-AES128-GCM-SHA256", "cluster.ssl.ciphers", { "envoy.cluster_name": "ratelimit", cipher_suite: "ECDHE-RSA-AES128-GCM-SHA256" }],
    ["listener.[__1]_0.ssl.ciphers.AES256-SHA", "listener.ssl.ciphers", { "envoy.listener_address": "[__1]_0", "envoy.ssl_cipher": "AES256-SHA" }],
    ["listener.127.0.0.1_0.ssl.ciphers.AES256-SHA", "listener.ssl.ciphers", { "envoy.listener_address": "127.0.0.1_0", "envoy.ssl_cipher": "AES256-SHA" }],
    ["listener.admin.ssl.ciphers.AES256-SHA", "listener.admin.ssl.ciphers", { "envoy.ssl_cipher": "AES256-SHA" }],
    ["http.egress_dynamodb_iad.downstream_cx_total", "http.downstream_cx_total", { "envoy.http_conn_manager_prefix": "egress_dynamodb_iad" }],
    [
      "http.egress_dynamodb_iad.dynamodb.table.bar_table.capacity.Query.__partition_id=ABC1234",
      "http.dynamodb.table.capacity",
      { "envoy.http_conn_manager_prefix": "egress_dynamodb_iad", "envoy.dynamo_table": "bar_table", "envoy.dynamo_operation": "Query", "envoy.dynamo_partition_id": "ABC1234" },
    ],
    [
      "mongo.mongo_filter.collection.bar_collection.callsite.baz_callsite.query.scatter_get",
      "mongo.collection.callsite.query.scatter_get",
      { "envoy.mongo_prefix": "mongo_filter", "envoy.mongo_collection": "bar_collection", "envoy.mongo_callsite": "baz_callsite" },
    ],
    ["cluster.grpc_cluster.grpc.grpc_service_1.grpc_method_1.success", "cluster.grpc.success", { "envoy.cluster_name": "grpc_cluster", "envoy.grpc_bridge_service": "grpc_service_1", "envoy.grpc_bridge_method": "grpc_method_1" }],
    ["vhost.vhost_1.vcluster.vcluster_1.upstream_rq_2xx", "vhost.vcluster.upstream_rq_xx", { "envoy.virtual_host": "vhost_1", "envoy.virtual_cluster": "vcluster_1", "envoy.response_code_class": "2" }],
    ["vhost.vhost_1.vcluster.vcluster_1.upstream_rq_200", "vhost.vcluster.upstream_rq", { "envoy.virtual_host": "vhost_1", "envoy.virtual_cluster": "vcluster_1", "envoy.response_code": "200" }],
    ["listener.127.0.0.1_3012.http.http_prefix.downstream_rq_5xx", "listener.http.downstream_rq_xx", { "envoy.http_conn_manager_prefix": "http_prefix", "envoy.listener_address": "127.0.0.1_3012", "envoy.response_code_class": "5" }],
    ["listener.127.0.0.1_3012.worker_123.downstream_cx_active", "listener.worker_downstream_cx_active", { "envoy.listener_address": "127.0.0.1_3012", "envoy.worker_id": "123" }],
    ["server.worker_123.watchdog_miss", "server.worker_watchdog_miss", { "envoy.worker_id": "123" }],
    ["foo_ratelimiter.http_local_rate_limit.ok", "http_local_rate_limit.ok", { "envoy.local_http_ratelimit_prefix": "foo_ratelimiter" }],
    ["http.http_prefix.ext_authz.authpfx.denied", "http.ext_authz.denied", { "envoy.http_conn_manager_prefix": "http_prefix", "envoy.ext_authz_prefix": "authpfx" }],
    ["tcp.tcp_prefix.downstream_flow_control_resumed_reading_total", "tcp.downstream_flow_control_resumed_reading_total", { "envoy.tcp_prefix": "tcp_prefix" }],
  ];
  it.each(cases)("%s", (name, extracted, tags) => {
    const p = new TagProducer({ tagSpecifiers: [], useAllDefaultTags: true });
    const out = p.produceTags(name);
    expect(out.tagExtractedName).toBe(extracted);
    expect(Object.fromEntries(out.tags.map((t) => [t.name, t.value]))).toEqual(tags);
  });

  it("puts extractors without a prefix token first in the label order, as Envoy does", () => {
    const s = new StatsStore();
    s.counter("cluster.openai.upstream_rq_200").add(2);
    expect(lines(s.renderPrometheus())[1]).toBe('envoy_cluster_upstream_rq{envoy_response_code="200",envoy_cluster_name="openai"} 2');
  });

  it("skips the defaults when use_all_default_tags is false, except those named without a regex", () => {
    const none = new TagProducer({ tagSpecifiers: [], useAllDefaultTags: false });
    expect(none.produceTags("cluster.a.upstream_rq_200")).toEqual({ tagExtractedName: "cluster.a.upstream_rq_200", tags: [] });
    const one = new TagProducer({ tagSpecifiers: [{ tagName: "envoy.cluster_name" }], useAllDefaultTags: false });
    expect(one.produceTags("cluster.a.upstream_rq_200")).toEqual({ tagExtractedName: "cluster.upstream_rq_200", tags: [{ name: "envoy.cluster_name", value: "a" }] });
  });

  it("adds fixed_value tags to every stat and keeps only the first match for a repeated tag name", () => {
    const p = new TagProducer({
      tagSpecifiers: [
        { tagName: "env", fixedValue: "dev" },
        { tagName: "k", regex: String.raw`(;\.;k=\.=(.*?);\.;)` },
        { tagName: "k", regex: String.raw`(_k_(\w+))$` },
      ],
      useAllDefaultTags: false,
    });
    expect(p.produceTags("wasmcustom.a;.;k=.=1;.;")).toEqual({ tagExtractedName: "wasmcustom.a", tags: [{ name: "env", value: "dev" }, { name: "k", value: "1" }] });
    expect(p.produceTags("wasmcustom.b_k_2")).toEqual({ tagExtractedName: "wasmcustom.b", tags: [{ name: "env", value: "dev" }, { name: "k", value: "2" }] });
  });

  it("uses the first group as the value when there is no second one", () => {
    const p = new TagProducer({ tagSpecifiers: [{ tagName: "port", regex: String.raw`^listener\.(\d+?\.)` }], useAllDefaultTags: false });
    expect(p.produceTags("listener.80.downstream_cx_total")).toEqual({ tagExtractedName: "listener.downstream_cx_total", tags: [{ name: "port", value: "80." }] });
  });

  it("refuses what Envoy refuses and finds the prefix token like Envoy", () => {
    const bad = (tagSpecifiers: { tagName: string; regex?: string }[]) => () => new TagProducer({ tagSpecifiers, useAllDefaultTags: true });
    expect(bad([{ tagName: "", regex: "(a)" }])).toThrow("tag_name cannot be empty");
    expect(bad([{ tagName: "x", regex: "+invalid" }])).toThrow(TagConfigError);
    expect(bad([{ tagName: "x", regex: "(?<=a)(b)" }])).toThrow("std::regex");
    expect(bad([{ tagName: "x" }])).toThrow("No regex specified for tag specifier and no default regex for name: 'x'");
    expect(extractRegexPrefix(String.raw`^prefix\.foo`)).toBe("prefix");
    expect(extractRegexPrefix(String.raw`^prefix_optional(?=\.)`)).toBe("prefix_optional");
    expect(extractRegexPrefix("^onlyToken$")).toBe("onlyToken");
    expect(extractRegexPrefix("^notACompleteToken")).toBe("");
    expect(extractRegexPrefix("^(prefix)")).toBe("");
  });
});

describe("Prometheus output", () => {
  it("sanitizes names, strips the custom namespace, and skips names Prometheus cannot take", () => {
    const s = new StatsStore({ useAllDefaultTags: false });
    s.counter("wasmcustom.my-metric.with/odd chars").add(1);
    s.counter("wasmcustom.9lives").add(1);
    s.counter("server.envoy-bug.failures").add(1);
    expect(lines(s.renderPrometheus())).toEqual([
      "# TYPE envoy_server_envoy_bug_failures counter",
      "envoy_server_envoy_bug_failures{} 1",
      "# TYPE my_metric_with_odd_chars counter",
      "my_metric_with_odd_chars{} 1",
    ]);
    expect(metricName("wasmcustom.", new Set(["wasmcustom"]))).toBeNull();
  });

  it("sanitizes label names, escapes label values and adds no _total suffix", () => {
    const s = new StatsStore({
      tagSpecifiers: [
        { tagName: "ai.provider", regex: String.raw`(;\.;p=\.=(.*?);\.;)` },
        { tagName: "note", fixedValue: "line1\nline2" },
      ],
      useAllDefaultTags: false,
    });
    s.counter('wasmcustom.hits;.;p=.=a"b\\c;.;').add(4);
    expect(lines(s.renderPrometheus())[1]).toBe('hits{ai_provider="a\\"b\\\\c",note="line1\\nline2"} 4');
  });

  it("orders counters, gauges, histograms; groups by name; series by stat name", () => {
    const s = new StatsStore({ tagSpecifiers: AI_TAGS });
    s.gauge("wasmcustom.active;.;ai_provider=.=b;.;").set(2);
    s.counter("wasmcustom.req;.;ai_provider=.=b;.;").add(1);
    s.counter("wasmcustom.req;.;ai_provider=.=a;.;").add(5);
    s.counter("cluster.z.upstream_rq_total").add(1);
    s.counter("cluster.a.upstream_rq_total").add(2);
    s.histogram("wasmcustom.lat;.;ai_provider=.=a;.;");
    const types = lines(s.renderPrometheus()).filter((l) => l.startsWith("#"));
    expect(types).toEqual(["# TYPE envoy_cluster_upstream_rq_total counter", "# TYPE req counter", "# TYPE active gauge", "# TYPE lat histogram"]);
    const out = lines(s.renderPrometheus());
    expect(out.slice(1, 3)).toEqual(['envoy_cluster_upstream_rq_total{envoy_cluster_name="a"} 2', 'envoy_cluster_upstream_rq_total{envoy_cluster_name="z"} 1']);
    expect(out.slice(4, 6)).toEqual(['req{ai_provider="a"} 5', 'req{ai_provider="b"} 1']);
  });

  it("prints histogram buckets the way Envoy's circllhist computes them", () => {
    const s = new StatsStore({ tagSpecifiers: AI_TAGS });
    const h = s.histogram("wasmcustom.ai_llm_latency_ms;.;ai_provider=.=openai;.;");
    for (const v of [5, 24, 25, 3_000_000]) h.record(v);
    const out = lines(s.renderPrometheus());
    expect(out[0]).toBe("# TYPE ai_llm_latency_ms histogram");
    const bucket = (le: string) => out.find((l) => l.startsWith(`ai_llm_latency_ms_bucket{ai_provider="openai",le="${le}"}`));
    expect(bucket("5")).toBe('ai_llm_latency_ms_bucket{ai_provider="openai",le="5"} 0'); // 5 sits in [5, 5.1): not <= 5
    expect(bucket("10")).toMatch(/ 1$/);
    expect(bucket("25")).toMatch(/ 2$/); // 24 in [24, 25): counted; 25 is not
    expect(bucket("50")).toMatch(/ 3$/);
    expect(bucket("3600000")).toMatch(/ 4$/);
    expect(out.slice(-3)).toEqual([
      'ai_llm_latency_ms_bucket{ai_provider="openai",le="+Inf"} 4',
      // bin midpoints: 5.05 + 24.5 + 25.5 + 3050000, printed with fmt "{:.32g}"
      'ai_llm_latency_ms_sum{ai_provider="openai"} 3050055.0499999998137354850769043',
      'ai_llm_latency_ms_count{ai_provider="openai"} 4',
    ]);
    expect(out.filter((l) => l.includes("_bucket"))).toHaveLength(20); // 19 default buckets + Inf
  });

  it("uses histogram_bucket_settings for matching names and prints bounds with {:.32g}", () => {
    const s = new StatsStore({
      useAllDefaultTags: false,
      histogramBucketSettings: [{ match: { prefix: "wasmcustom.ttft", ignoreCase: false }, buckets: [0.1, 100] }],
    });
    s.histogram("wasmcustom.ttft").record(0);
    s.histogram("wasmcustom.other");
    const out = lines(s.renderPrometheus());
    expect(out).toContain('ttft_bucket{le="0.10000000000000000555111512312578"} 1');
    expect(out).toContain('ttft_bucket{le="100"} 1');
    expect(out).toContain("ttft_sum{} 0");
    expect(out.filter((l) => l.startsWith("other_bucket"))).toHaveLength(20);
    expect(out).toContain('other_bucket{le="3600000"} 0');
  });
});

describe("counters and gauges", () => {
  it("are uint64: a counter wraps at 2^64 and a gauge taken below zero wraps like Envoy's release build", () => {
    const s = new StatsStore();
    const c = s.counter("c");
    c.add(2n ** 64n - 1n);
    c.add(2);
    expect(c.bigValue).toBe(1n);
    const g = s.gauge("g");
    g.add(3);
    g.add(-5);
    expect(g.bigValue).toBe(2n ** 64n - 2n);
    g.set(7);
    g.sub(2);
    expect(g.value).toBe(5);
    expect(s.counter("c")).toBe(c); // live objects by name
  });
});

describe("text and JSON output", () => {
  it("prints `name: value` sorted by name, then histograms as quantile summaries", () => {
    const s = new StatsStore();
    s.gauge("b.gauge").set(2);
    s.counter("a.counter").add(1);
    s.histogram("h.unused");
    s.histogram("h.used").record(24);
    expect(s.renderText()).toBe(
      "a.counter: 1\nb.gauge: 2\nh.unused: No recorded values\n" +
        "h.used: P0(nan,24) P25(nan,24.25) P50(nan,24.5) P75(nan,24.75) P90(nan,24.9) P95(nan,24.95) P99(nan,24.99) P99.5(nan,24.995) P99.9(nan,24.999) P100(nan,25)\n",
    );
    expect(s.renderText({ usedOnly: true, filter: /^a\./ })).toBe("a.counter: 1\n");
  });

  it("prints JSON with stats and computed quantiles", () => {
    const s = new StatsStore();
    s.counter("a").add(1);
    s.histogram("h");
    const j = JSON.parse(s.renderJson()) as { stats: unknown[] };
    expect(j.stats[0]).toEqual({ name: "a", value: 1 });
    expect(j.stats[1]).toMatchObject({ histograms: { supported_quantiles: [0, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 100] } });
  });
});

describe("formatG (fmt {:.Ng})", () => {
  it("matches printf %.32g", () => {
    expect(formatG(0.5, 32)).toBe("0.5");
    expect(formatG(3600000, 32)).toBe("3600000");
    expect(formatG(5.05, 32)).toBe("5.049999999999999822364316059975");
    expect(formatG(1e-5, 32)).toBe("1.0000000000000000818030539140313e-05");
    expect(formatG(1e40, 32)).toBe("1.0000000000000000303786028427004e+40");
    expect(formatG(99.5, 6)).toBe("99.5");
  });
});
