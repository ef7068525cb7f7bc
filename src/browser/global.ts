/**
 * Entry of the single-file bundle (`dist/netget.browser.js`): defines the
 * global `Netget`, the browser Netget class, with the rest of the browser API
 * as its properties (`Netget.ChannelError`, `Netget.Channel`, ...), so one
 * `<script src>` gives a page everything.
 */
import * as api from './index.js'

const { Netget, ...rest } = api
const global = Object.assign(Netget, rest, { Netget })

;(globalThis as unknown as { Netget: typeof global }).Netget = global
