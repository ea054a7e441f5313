/**
 * fleet's page tokens: base64 of two little-endian uint16s, `{limit, page}`. fleet only
 * serves pages of 100, so a token with another limit is refused.
 */

export class PageTokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PageTokenError';
  }
}

export interface PageToken {
  limit: number;
  page: number;
}

/** fleet's fixed page size. */
export const PAGE_LIMIT = 100;

const MAX_UINT16 = 0xffff;

export function encodePageToken(token: PageToken): string {
  const { limit, page } = token;
  if (![limit, page].every((n) => Number.isInteger(n) && n >= 0 && n <= MAX_UINT16)) {
    throw new PageTokenError(`page token fields must be 16-bit unsigned integers (limit ${limit}, page ${page})`);
  }
  const bytes = Buffer.alloc(4);
  bytes.writeUInt16LE(limit, 0);
  bytes.writeUInt16LE(page, 2);
  return bytes.toString('base64');
}

/** Decodes a token; bad base64, a length other than 4 bytes, page 0 or limit ≠ 100 throw. */
export function decodePageToken(token: string): PageToken {
  if (token.length % 4 !== 0 || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(token)) {
    throw new PageTokenError('unable to decode page token');
  }
  const bytes = Buffer.from(token.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (bytes.length !== 4) throw new PageTokenError('page token is the wrong length');
  const limit = bytes.readUInt16LE(0);
  const page = bytes.readUInt16LE(2);
  if (page === 0) throw new PageTokenError('page token has page 0');
  if (limit !== PAGE_LIMIT) throw new PageTokenError(`page token has limit ${limit}; only ${PAGE_LIMIT} is served`);
  return { limit, page };
}

export interface Page<T> {
  page: T[];
  nextPageToken?: string;
}

/** Where a token's page starts and how long it is (page 1 without a token). */
export interface PageWindow {
  limit: number;
  page: number;
  /** How many items come before the page. */
  offset: number;
}

/** The window a token asks for; bad tokens throw as decodePageToken does. */
export function pageWindow(token: string | undefined): PageWindow {
  const { limit, page } = token === undefined ? { limit: PAGE_LIMIT, page: 1 } : decodePageToken(token);
  return { limit, page, offset: (page - 1) * limit };
}

/**
 * The page from the items that follow the window's offset, at most `limit + 1` of them: an item
 * beyond the page means more follow. A store reads one page and one item, never every item.
 * nextPageToken is set only when more items follow (fleet also set it when a page ended exactly
 * at the last item).
 */
export function pageFromWindow<T>(window: PageWindow, items: readonly T[]): Page<T> {
  const { limit, page } = window;
  const result: Page<T> = { page: items.slice(0, limit) };
  if (items.length > limit && page < MAX_UINT16) result.nextPageToken = encodePageToken({ limit, page: page + 1 });
  return result;
}

/** One page of `items` (page 1 without a token), as pageFromWindow. */
export function paginate<T>(items: readonly T[], token: string | undefined): Page<T> {
  const window = pageWindow(token);
  return pageFromWindow(window, items.slice(window.offset, window.offset + window.limit + 1));
}
