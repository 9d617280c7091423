// One hashrate line with uPlot: resizes with its container, y axis in H/s units.
import uPlot from "uplot";
import { hashrate } from "./format";

export interface Chart { set(times: number[], values: number[]): void; points(): number }

export function hashrateChart(container: HTMLElement, label: string): Chart {
  const width = (): number => Math.max(280, container.clientWidth);
  let count = 0;
  const plot = new uPlot({
    width: width(), height: 260,
    series: [{}, { label, stroke: "#1f6feb", fill: "rgba(31,111,235,0.12)", width: 2, value: (_u, v) => hashrate(v) }],
    axes: [{}, { size: 90, values: (_u, splits) => splits.map((v) => hashrate(v)) }],
    scales: { y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
    legend: { show: true },
  }, [[], []], container);
  new ResizeObserver(() => plot.setSize({ width: width(), height: 260 })).observe(container);
  return {
    set(times, values) {
      count = times.length;
      plot.setData([times, values]);
      container.dataset.points = String(count);  // what the browser tests read
      container.dataset.nonzero = String(values.filter((v) => v > 0).length);
    },
    points: () => count,
  };
}
