// One hashrate line with uPlot: resizes with its container, y axis in H/s units, the time axis and the legend
// in the page's language. uPlot fixes labels when it is built, so `relabel()` rebuilds it with the same data.
import uPlot from "uplot";
import { hashrate } from "./format";
import { locale, t } from "./i18n";

export interface Chart { set(times: number[], values: number[]): void; relabel(): void; points(): number }

const HEIGHT = 260;
const DAY_S = 86400;

/** A tick of the time axis: hours and minutes over a short span, the date over a long one. */
function tick(seconds: number, span: number): string {
  const options: Intl.DateTimeFormatOptions = span > 2 * DAY_S
    ? { month: "short", day: "numeric" } : { hour: "2-digit", minute: "2-digit" };
  return new Date(seconds * 1000).toLocaleString(locale(), options);
}

export function hashrateChart(container: HTMLElement): Chart {
  const width = (): number => Math.max(280, container.clientWidth);
  let data: uPlot.AlignedData = [[], []];
  let plot: uPlot | null = null;
  const build = (): void => {
    plot?.destroy();
    plot = new uPlot({
      width: width(), height: HEIGHT,
      series: [
        { label: t("chart.time"), value: (_u, v) => (v == null ? "–" : new Date(v * 1000).toLocaleString(locale())) },
        { label: t("miner.chart"), stroke: "#1f6feb", fill: "rgba(31,111,235,0.12)", width: 2, value: (_u, v) => hashrate(v) },
      ],
      axes: [
        { values: (u, splits) => splits.map((s) => tick(s, (u.scales.x.max ?? 0) - (u.scales.x.min ?? 0))) },
        { size: 90, values: (_u, splits) => splits.map((v) => hashrate(v)) },
      ],
      scales: { y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
      legend: { show: true },
    }, data, container);
  };
  build();
  new ResizeObserver(() => plot?.setSize({ width: width(), height: HEIGHT })).observe(container);
  return {
    set(times, values) {
      data = [times, values];
      plot?.setData(data);
      container.dataset.points = String(times.length);  // what the browser tests read
      container.dataset.nonzero = String(values.filter((v) => v > 0).length);
    },
    relabel: build,
    points: () => data[0].length,
  };
}
