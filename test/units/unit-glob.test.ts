import { matchUnitGlob } from '../../units/unit-glob';

describe('matchUnitGlob', () => {
  it.each([
    ['web.service', 'web.service', true],
    ['web.service', 'web-service', false],
    ['web@*.service', 'web@1.service', true],
    ['web@*.service', 'web@.service', true],
    ['web@*.service', 'web.service', false],
    ['*', 'anything.service', true],
    ['web?.service', 'web1.service', true],
    ['web?.service', 'web12.service', false],
    ['web[0-9].service', 'web7.service', true],
    ['web[0-9].service', 'webx.service', false],
    ['web[^0-9].service', 'webx.service', true],
    ['web[^0-9].service', 'web7.service', false],
    ['web[ab-].service', 'web-.service', false],
    ['web\\*.service', 'web*.service', true],
    ['web\\*.service', 'web1.service', false],
    ['a.b', 'axb', false],
    ['(x)|y+', '(x)|y+', true],
    ['web[', 'web[', false],
    ['web\\', 'web\\', false],
    ['[]', ']', false],
    ['[z-a]', 'm', false],
  ])('%s matches %s: %s', (pattern, name, expected) => {
    expect(matchUnitGlob(pattern, name)).toBe(expected);
  });
});
