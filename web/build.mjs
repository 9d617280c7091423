// `make web` (npm run build): bundle src/*.ts with esbuild into dist/, copy the pages, styles and uPlot's CSS.
// dist/ is committed, so serving the dashboard needs no Node.js and no network.
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readdirSync, rmSync } from "node:fs";

rmSync("dist", { recursive: true, force: true });
mkdirSync("dist");
await build({
  entryPoints: ["src/home.ts", "src/miner.ts", "src/operator.ts"],
  bundle: true, format: "esm", target: "es2020", minify: true, outdir: "dist", legalComments: "eof", logLevel: "info",
});
for (const name of readdirSync("src").filter((f) => f.endsWith(".html") || f.endsWith(".css"))) {
  copyFileSync(`src/${name}`, `dist/${name}`);
}
copyFileSync("node_modules/uplot/dist/uPlot.min.css", "dist/uplot.css");
