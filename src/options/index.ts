/**
 * The options of `new Netget()`: their types ({@link NetgetInit}, with TSDoc
 * on each), the one table that holds each option's meaning, unit, default
 * and check ({@link OPTIONS}), and {@link normalizeOptions}, which that
 * table drives.
 */
export type { NetgetInit, NetgetConfig, NodeType, OptionalOption, ServedNetwork, ServedNetworkInit } from './init.js'
export { OPTIONS, OPTION_RULES, defaultText, optionEntries } from './table.js'
export type { DefaultContext, OptionName, OptionRule, OptionSpec, OptionTable } from './table.js'
export { normalizeOptions } from './normalize.js'
export { checkMetadata } from './checks.js'
