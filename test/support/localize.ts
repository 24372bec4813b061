// Shipped configs run against simulators: each named cluster in the "  - name: X" blocks after
// `from` is pointed at a loopback port over plain HTTP (STATIC, no TLS), the rest left as written.

export function pointClustersAt(yaml: string, from: number, ports: Record<string, number>): string {
  const blocks = yaml.slice(from).split(/\n(?=  - name: )/);
  const clusters = blocks.map((block) => {
    const name = /^  - name: (\S+)/.exec(block)?.[1];
    const port = name ? ports[name] : undefined;
    if (port === undefined) return block;
    return block
      .replace(/type: LOGICAL_DNS/, "type: STATIC")
      .replace(/address: \S+, port_value: \d+/, `address: 127.0.0.1, port_value: ${port}`)
      .replace(/\n    transport_socket:[\s\S]*$/, "");
  });
  return yaml.slice(0, from) + clusters.join("\n");
}
