/**
 * The station's serial line reader: the pure splitter of src/protocol (CRLF, LF or lone-CR line
 * ends; a fixed buffer of `maxLineBytes`; an overlong line dropped and reported once; blank lines
 * skipped). Devices in src/device use the same splitter for their UART receive buffer.
 */
export { LineSplitter as SerialLineSplitter, type LineOverflow } from '../protocol/line-splitter.js';
