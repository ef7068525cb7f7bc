/**
 * Bundles the browser build into one script, `dist/netget.browser.js`: an
 * IIFE that defines the global `Netget`. Runs after tsc (`npm run build`), from
 * the compiled `dist/src/browser/global.js`; the package.json "browser" map
 * swaps the Node-only modules for their browser stand-ins. Prints the size,
 * and fails if a Node built-in or the `ws` package got into the bundle.
 * Then bundles the registry dashboard's script, `dist/dashboard.js`, from
 * `dist/src/http/dashboard/main.js` (DOM code only: it fails if anything
 * else of netget or any package got in).
 *
 * Usage: node dist/scripts/build-browser.js [--out dist/netget.browser.js]
 */
import { writeFile } from 'node:fs/promises'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import * as esbuild from 'esbuild'

/** The package root: this file is dist/scripts/build-browser.js. */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

/** What got into the bundle and how big it is. */
export interface BrowserBuild {
  path: string
  bytes: number
  gzipBytes: number
  ms: number
}

/**
 * Bundles one compiled entry for browsers (a minified IIFE), rejects it if
 * `misplaced` names any of its inputs, writes it to `out`, returns its size.
 */
async function bundle (entry: string, banner: string, out: string, misplaced: (inputs: string[]) => string | undefined): Promise<BrowserBuild> {
  const started = performance.now()
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: [join(ROOT, entry)],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    write: false,
    metafile: true,
    logLevel: 'warning',
    banner: { js: banner }
  })
  const problem = misplaced(Object.keys(result.metafile.inputs))

  if (problem !== undefined) {
    throw new Error(problem)
  }

  const code = result.outputFiles[0].contents
  await writeFile(out, code)
  return { path: out, bytes: code.byteLength, gzipBytes: gzipSync(code, { level: 9 }).byteLength, ms: performance.now() - started }
}

/** Builds the bundle and returns its size; throws if it pulled in Node-only code. */
export async function buildBrowserBundle (out = join(ROOT, 'dist', 'netget.browser.js')): Promise<BrowserBuild> {
  return bundle('dist/src/browser/global.js', '/* netget browser build - defines the global Netget. MIT licence; bundled dependencies keep their licences (see node_modules). */', out, inputs => {
    const nodeOnly = inputs.filter(input => input.startsWith('node:') || input.includes('(disabled)') || /node_modules\/(ws|datastore-level|@libp2p\/tcp)\//.test(input))
    return nodeOnly.length === 0 ? undefined : `The browser bundle pulled in Node-only code: ${nodeOnly.join(', ')}; map it in package.json "browser"`
  })
}

/** Builds the dashboard's script and returns its size; throws if it pulled in more than the dashboard's own modules. */
export async function buildDashboardBundle (out = join(ROOT, 'dist', 'dashboard.js')): Promise<BrowserBuild> {
  return bundle('dist/src/http/dashboard/main.js', '/* netget registry dashboard. MIT licence. */', out, inputs => {
    const foreign = inputs.filter(input => !input.startsWith('dist/src/http/dashboard/'))
    return foreign.length === 0 ? undefined : `The dashboard script pulled in ${foreign.join(', ')}: it may import only src/http/dashboard/ (types excepted)`
  })
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const index = process.argv.indexOf('--out')
  const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`
  const report = (what: string, build: BrowserBuild): void => {
    process.stdout.write(`${what}: ${relative(process.cwd(), build.path)} ${kib(build.bytes)} minified, ${kib(build.gzipBytes)} gzipped (${build.ms.toFixed(0)} ms)\n`)
  }
  report('browser bundle', await buildBrowserBundle(index === -1 ? undefined : process.argv[index + 1]))
  report('dashboard script', await buildDashboardBundle())
}
