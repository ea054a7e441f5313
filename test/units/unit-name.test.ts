import {
  expandSpecifiers,
  isTemplateName,
  templateOf,
  unitNameParts,
  unitNameProblem,
} from '../../units/unit-name';

describe('unitNameProblem', () => {
  it.each([
    'web.service', 'web@1.service', 'web@.service', 'a.b-c_d:e.socket', 'x.timer', 'm.mount', 'a.automount',
    'dev.device', 's.scope', 's.slice', 's.snapshot', 's.swap', 'b.busname', 'p@x.path', 't@1.target',
    'web@1@2.service', `${'a'.repeat(248)}.service`,
  ])('accepts %s', (name) => {
    expect(unitNameProblem(name)).toBeNull();
  });

  it.each([
    ['', /empty/],
    [`${'a'.repeat(249)}.service`, /longer than 256/],
    ['web', /unit type/],
    ['web.', /unit type/],
    ['web.unknown', /unit type/],
    ['web service.service', /invalid character " "/],
    ['web/1.service', /invalid character "\/"/],
    ['wéb.service', /invalid character "é"/],
    ['@web.service', /starts with "@"/],
    ['.service', /nothing before/],
    ['web@1.mount', /may contain "@"/],
    ['web@.slice', /may contain "@"/],
  ])('refuses %j', (name, message) => {
    expect(unitNameProblem(name)).toMatch(message);
  });
});

describe('unitNameParts', () => {
  it('splits instances, templates and plain names', () => {
    expect(unitNameParts('web@1.service')).toEqual({ prefix: 'web', instance: '1', suffix: 'service', unescapedName: 'web@1' });
    expect(unitNameParts('web@.service')).toEqual({ prefix: 'web', instance: '', suffix: 'service', unescapedName: 'web@' });
    expect(unitNameParts('my.web.service')).toEqual({ prefix: 'my.web', instance: null, suffix: 'service', unescapedName: 'my.web' });
    expect(unitNameParts('a@b@c.socket')).toEqual({ prefix: 'a', instance: 'b@c', suffix: 'socket', unescapedName: 'a@b@c' });
  });

  it('decodes \\x escapes in unescapedName', () => {
    expect(unitNameParts('foo\\x2dbar.service').unescapedName).toBe('foo-bar');
  });
});

describe('templates', () => {
  it('recognises template names', () => {
    expect(isTemplateName('web@.service')).toBe(true);
    expect(isTemplateName('web@1.service')).toBe(false);
    expect(isTemplateName('web.service')).toBe(false);
    expect(isTemplateName('@.service')).toBe(false);
  });

  it('maps instances to their template', () => {
    expect(templateOf('web@1.service')).toBe('web@.service');
    expect(templateOf('web@a.b.timer')).toBe('web@.timer');
    expect(templateOf('web@.service')).toBeNull();
    expect(templateOf('web.service')).toBeNull();
  });
});

describe('expandSpecifiers', () => {
  it('expands %n %N %p %i for an instance', () => {
    expect(expandSpecifiers('%n|%N|%p|%i', 'web@8080.service')).toBe('web@8080.service|web@8080|web|8080');
  });

  it('uses the name without suffix for %p and an empty %i for plain units', () => {
    expect(expandSpecifiers('%p-%i-%N', 'my.app.service')).toBe('my.app--my.app');
  });

  it('turns %% into % without expanding what follows', () => {
    expect(expandSpecifiers('100%% %%n %%%n', 'x.service')).toBe('100% %n %x.service');
  });

  it('keeps unknown specifiers and a trailing %', () => {
    expect(expandSpecifiers('%H %u %Z 50%', 'x.service')).toBe('%H %u %Z 50%');
  });

  it('expands %P and %I as the unescaped forms', () => {
    expect(expandSpecifiers('%P/%I', 'a@b.service')).toBe('a/b');
  });
});
