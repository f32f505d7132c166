// Lets Node (and tsx) import the library's .lua script files as text, the way the build and vitest do:
// `node --import ./scripts/lua-loader.mjs` or `tsx --import ./scripts/lua-loader.mjs`.
import { register } from 'node:module'

register('./lua-hooks.mjs', import.meta.url)
