/**
 * Entry of the single-file bundle (`dist/netget.browser.js`): defines the
 * global `Netget`, the browser Netget class, with the rest of the browser API
 * as its properties (`Netget.ChannelError`, `Netget.Channel`, ...), so one
 * `<script src>` gives a page everything. Its declarations are the types of
 * the package's `./browser.js` export.
 */
import * as api from './index.js'

/** The global `Netget`: the browser Netget class, with the rest of the browser API as its properties. */
export type NetgetGlobal = typeof api.Netget & Omit<typeof api, 'Netget'> & { Netget: typeof api.Netget }

declare global {
  /** Defined by `netget/browser.js` (or `/netget.js` from a registry's HTTP port). */
  // eslint-disable-next-line no-var
  var Netget: NetgetGlobal
}

const { Netget, ...rest } = api
globalThis.Netget = Object.assign(Netget, rest, { Netget })
