// Module load hook registered by lua-loader.mjs: a `.lua` file becomes a module whose default export
// is the script's source text.
import { readFile } from 'node:fs/promises'

export async function load(url, context, nextLoad) {
  if (!url.endsWith('.lua')) return nextLoad(url, context)
  const source = await readFile(new URL(url), 'utf8')
  return { format: 'module', source: `export default ${JSON.stringify(source)}`, shortCircuit: true }
}
