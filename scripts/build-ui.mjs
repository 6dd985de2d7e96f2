// Builds the web dashboard (ui/) into dist/ui: one minified ES module bundle (esbuild), the page,
// its stylesheet and uPlot's. Part of `npm run build` (after the TypeScript type check of ui/).
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'ui');
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(root, 'ui', 'src', 'main.ts')], outfile: join(out, 'app.js'),
  bundle: true, format: 'esm', target: 'es2022', minify: true, sourcemap: true, legalComments: 'linked', logLevel: 'warning',
});
copyFileSync(join(root, 'ui', 'index.html'), join(out, 'index.html'));
copyFileSync(join(root, 'ui', 'app.css'), join(out, 'app.css'));
copyFileSync(join(root, 'node_modules', 'uplot', 'dist', 'uPlot.min.css'), join(out, 'uPlot.min.css'));
