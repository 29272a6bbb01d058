// Copies what the browser needs from govuk-frontend (npm) into api/web/assets/govuk/, which ehcd
// serves as /assets/govuk/, and Chart.js's bundle into api/web/assets/chartjs/ (the manager's charts).
// Run by ./ehc up, ./ehc build and ./ehc test after `npm ci`.
//
// A council's service is not on GOV.UK, and the Design System asks such services not to use the
// GDS Transport typeface nor the crown: the stylesheet's font stack becomes Arial and its
// @font-face rules are dropped, and neither the fonts nor the crown images are copied.
import { mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const web = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(web, 'node_modules', 'govuk-frontend', 'dist', 'govuk');
const out = join(web, 'assets', 'govuk');

function fail(message) {
  console.error(`copy-assets: ${message}`);
  process.exit(1);
}

let css, js;
try {
  css = readFileSync(join(dist, 'govuk-frontend.min.css'), 'utf8');
  js = readFileSync(join(dist, 'govuk-frontend.min.js'), 'utf8');
} catch (e) {
  fail(`${e.message}: run npm ci in api/web first`);
}

const stack = /"?GDS Transport"?,\s*arial,\s*sans-serif/g;
if (!stack.test(css)) fail('govuk-frontend no longer sets "GDS Transport, arial, sans-serif": check the font rewrite');
css = css.replace(stack, 'arial,sans-serif').replace(/@font-face\{[^}]*\}/g, '');
if (/GDS Transport/.test(css)) fail('GDS Transport is still named in the stylesheet');
// the source map names files that are not copied
css = css.replace(/\/\*# sourceMappingURL=[^*]*\*\//, '');
js = js.replace(/\/\/# sourceMappingURL=\S*/, '');

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'govuk-frontend.min.css'), css);
writeFileSync(join(out, 'govuk-frontend.min.js'), js);
const version = JSON.parse(readFileSync(join(dist, '..', '..', 'package.json'), 'utf8')).version;
writeFileSync(join(out, 'VERSION.txt'), `govuk-frontend ${version}\n`);
console.log(`copy-assets: govuk-frontend ${version} -> ${out}`);

// Chart.js: its self-contained bundle (it sets globalThis.Chart when imported as a module). It draws
// on a canvas and sets styles through the CSSOM only, so the strict CSP needs no exception.
const chartDist = join(web, 'node_modules', 'chart.js', 'dist');
let chart;
try {
  chart = readFileSync(join(chartDist, 'chart.umd.min.js'), 'utf8');
} catch (e) {
  fail(`${e.message}: run npm ci in api/web first`);
}
chart = chart.replace(/\/\/# sourceMappingURL=\S*/, '');
const chartOut = join(web, 'assets', 'chartjs');
rmSync(chartOut, { recursive: true, force: true });
mkdirSync(chartOut, { recursive: true });
writeFileSync(join(chartOut, 'chart.umd.min.js'), chart);
const chartVersion = JSON.parse(readFileSync(join(chartDist, '..', 'package.json'), 'utf8')).version;
writeFileSync(join(chartOut, 'VERSION.txt'), `chart.js ${chartVersion}\n`);
console.log(`copy-assets: chart.js ${chartVersion} -> ${chartOut}`);
