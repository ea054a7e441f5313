import { PageTokenError, decodePageToken, encodePageToken, pageFromWindow, pageWindow, paginate } from '../../units/pagination';

describe('page tokens', () => {
  it.each([
    [1, 'ZAABAA=='],
    [2, 'ZAACAA=='],
    [3, 'ZAADAA=='],
  ])('page %i is %s', (page, token) => {
    expect(encodePageToken({ limit: 100, page })).toBe(token);
    expect(decodePageToken(token)).toEqual({ limit: 100, page });
  });

  it('encodes little-endian uint16s', () => {
    expect(Buffer.from(encodePageToken({ limit: 100, page: 300 }), 'base64')).toEqual(Buffer.from([100, 0, 44, 1]));
    expect(decodePageToken(encodePageToken({ limit: 100, page: 65535 }))).toEqual({ limit: 100, page: 65535 });
  });

  it('accepts the URL-safe alphabet fleet uses', () => {
    const token = encodePageToken({ limit: 100, page: 0xfbff });
    expect(token).toMatch(/[+/]/);
    expect(decodePageToken(token.replace(/\+/g, '-').replace(/\//g, '_'))).toEqual({ limit: 100, page: 0xfbff });
  });

  it.each([
    ['not base64', '!!!!', /unable to decode/],
    ['missing padding', 'ZAABAA', /unable to decode/],
    ['empty', '', /wrong length/],
    ['too long', 'ZAABAAAA', /wrong length/],
    ['too short', 'ZAA=', /wrong length/],
    ['page 0', 'ZAAAAA==', /page 0/],
    ['another limit', encodePageToken({ limit: 50, page: 1 }), /limit 50/],
  ])('refuses %s', (_, token, message) => {
    expect(() => decodePageToken(token)).toThrow(PageTokenError);
    expect(() => decodePageToken(token)).toThrow(message);
  });

  it('refuses to encode out-of-range fields', () => {
    expect(() => encodePageToken({ limit: 100, page: 65536 })).toThrow(PageTokenError);
    expect(() => encodePageToken({ limit: -1, page: 1 })).toThrow(PageTokenError);
  });
});

describe('paginate', () => {
  const items = Array.from({ length: 250 }, (_, i) => i);

  it('serves pages of 100 and links them', () => {
    const first = paginate(items, undefined);
    expect(first.page).toEqual(items.slice(0, 100));
    expect(first.nextPageToken).toBe('ZAACAA==');
    const second = paginate(items, first.nextPageToken);
    expect(second.page).toEqual(items.slice(100, 200));
    expect(second.nextPageToken).toBe('ZAADAA==');
    const third = paginate(items, second.nextPageToken);
    expect(third).toEqual({ page: items.slice(200) });
  });

  it('has no next token when the items end exactly at a page end', () => {
    expect(paginate(items.slice(0, 100), undefined)).toEqual({ page: items.slice(0, 100) });
    expect(paginate(items.slice(0, 200), 'ZAACAA==')).toEqual({ page: items.slice(100, 200) });
  });

  it('answers an empty page past the end and for no items', () => {
    expect(paginate(items, 'ZAAKAA==')).toEqual({ page: [] });
    expect(paginate([], undefined)).toEqual({ page: [] });
  });

  it('refuses bad tokens', () => {
    expect(() => paginate(items, 'ZAAAAA==')).toThrow(PageTokenError);
  });
});

describe('page windows (a store reads one page and one item)', () => {
  it('starts at page 1 without a token', () => {
    expect(pageWindow(undefined)).toEqual({ limit: 100, page: 1, offset: 0 });
    expect(pageWindow('ZAADAA==')).toEqual({ limit: 100, page: 3, offset: 200 });
    expect(() => pageWindow('ZAAAAA==')).toThrow(PageTokenError);
  });

  it('links the next page only when an item beyond the page was read', () => {
    const items = Array.from({ length: 101 }, (_, i) => i);
    expect(pageFromWindow(pageWindow(undefined), items)).toEqual({ page: items.slice(0, 100), nextPageToken: 'ZAACAA==' });
    expect(pageFromWindow(pageWindow('ZAACAA=='), items.slice(0, 100))).toEqual({ page: items.slice(0, 100) });
    expect(pageFromWindow(pageWindow('ZAACAA=='), [])).toEqual({ page: [] });
  });
});
