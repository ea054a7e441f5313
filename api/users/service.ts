/** Users: credentials, the admin fixture, and admin-side management. */
import { readFileSync } from 'node:fs';
import { ConflictError, NotFoundError, ValidationError } from '../../common/errors';
import type { PasswordHasher } from '../auth/passwords';
import type { User, UserRepository } from '../store/users';

export interface UserView {
  username: string;
  is_admin: boolean;
  created: string;
}

export const toUserView = (user: User): UserView => ({ username: user.username, is_admin: user.isAdmin, created: user.created });

interface FixtureEntry {
  model?: string;
  fields?: { username?: string; password?: string; is_superuser?: boolean; is_staff?: boolean };
}

export interface UserServiceOptions {
  users: UserRepository;
  passwordIterations: number;
  /** Hashes and checks passwords (pbkdf2Hasher). */
  passwords: PasswordHasher;
  /** Called before a user is deleted, to remove what they own. */
  onDelete: (username: string) => Promise<void>;
  /** Called after a user is deleted, changes password or is logged out everywhere, to end their sessions. */
  onCredentialsChanged: (username: string) => Promise<void>;
}

const USERNAME = /^[\w.@+-]{1,150}$/;
const MIN_PASSWORD_LENGTH = 8;
export const DEFAULT_ADMIN = { username: 'admin', password: 'admin' };

export class UserService {
  private defaultAdminPassword: boolean | null = null;

  constructor(private readonly options: UserServiceOptions) {}

  /**
   * Loads the users fixture (Django's data.json format) into an empty store, then applies
   * ADMINHASH to the admin when given.
   */
  async loadFixture(path: string, adminHash?: string): Promise<void> {
    const { users } = this.options;
    if ((await users.count()) === 0) {
      const entries = JSON.parse(readFileSync(path, 'utf8')) as FixtureEntry[];
      for (const entry of entries) {
        const fields = entry.fields;
        if (entry.model !== 'auth.user' || !fields?.username || !fields.password) continue;
        await users.insert({ username: fields.username, password: fields.password, isAdmin: Boolean(fields.is_superuser || fields.is_staff) });
      }
    }
    if (adminHash) {
      const admin = await users.find(DEFAULT_ADMIN.username);
      if (!admin) await users.insert({ username: DEFAULT_ADMIN.username, password: adminHash, isAdmin: true });
      // Only a new hash is a password change (which ends the admin's tokens), not every start-up.
      else if (admin.password !== adminHash) await users.setPassword(DEFAULT_ADMIN.username, adminHash);
    }
    this.defaultAdminPassword = null;
  }

  find(username: string): Promise<User | undefined> {
    return this.options.users.find(username);
  }

  async authenticate(username: string, password: string): Promise<User | null> {
    const user = await this.options.users.find(username);
    if (!user) {
      // Spend the same time as a real check, so timing does not tell which usernames exist.
      await this.options.passwords.hash(password, this.options.passwordIterations, 'timing-equalizer');
      return null;
    }
    return (await this.options.passwords.verify(password, user.password)) ? user : null;
  }

  /** Whether the admin still has the default password (warned about in logs and /health). */
  async usesDefaultAdminPassword(): Promise<boolean> {
    if (this.defaultAdminPassword === null) {
      const admin = await this.options.users.find(DEFAULT_ADMIN.username);
      this.defaultAdminPassword = admin ? await this.options.passwords.verify(DEFAULT_ADMIN.password, admin.password) : false;
    }
    return this.defaultAdminPassword;
  }

  async list(): Promise<UserView[]> {
    return (await this.options.users.list()).map(toUserView);
  }

  async create(input: { username: unknown; password: unknown; is_admin?: unknown }): Promise<UserView> {
    const errors: Record<string, string[]> = {};
    if (typeof input.username !== 'string' || !USERNAME.test(input.username)) {
      errors.username = ['Enter a valid username: up to 150 letters, digits and @/./+/-/_ characters.'];
    }
    const passwordProblem = this.passwordProblem(input.password);
    if (passwordProblem) errors.password = [passwordProblem];
    if (input.is_admin !== undefined && typeof input.is_admin !== 'boolean') errors.is_admin = ['Must be a boolean.'];
    if (Object.keys(errors).length) throw new ValidationError(errors);
    const username = input.username as string;
    const password = await this.options.passwords.hash(input.password as string, this.options.passwordIterations);
    if (!(await this.options.users.insert({ username, password, isAdmin: input.is_admin === true }))) {
      throw ValidationError.field('username', 'A user with that username already exists.');
    }
    return toUserView((await this.options.users.find(username)) as User);
  }

  async delete(username: string, actingUser: User): Promise<void> {
    if (!(await this.options.users.find(username))) throw new NotFoundError();
    if (username === actingUser.username) throw new ConflictError('You cannot delete your own account.');
    await this.options.onDelete(username);
    await this.options.users.delete(username);
    await this.options.onCredentialsChanged(username);
  }

  /** Ends every token and session of the user (an admin's "log out everywhere"). */
  async logoutEverywhere(username: string): Promise<void> {
    if (!(await this.options.users.renewCredentials(username))) throw new NotFoundError();
    await this.options.onCredentialsChanged(username);
  }

  async changePassword(user: User, input: { old_password: unknown; new_password: unknown }): Promise<void> {
    if (typeof input.old_password !== 'string' || !(await this.options.passwords.verify(input.old_password, user.password))) {
      throw ValidationError.field('old_password', 'Your old password was entered incorrectly.');
    }
    const problem = this.passwordProblem(input.new_password);
    if (problem) throw ValidationError.field('new_password', problem);
    await this.options.users.setPassword(user.username, await this.options.passwords.hash(input.new_password as string, this.options.passwordIterations));
    this.defaultAdminPassword = null;
    await this.options.onCredentialsChanged(user.username);
  }

  private passwordProblem(password: unknown): string | null {
    if (typeof password !== 'string' || !password) return 'This field is required.';
    if (password.length < MIN_PASSWORD_LENGTH) return `This password is too short. It must contain at least ${MIN_PASSWORD_LENGTH} characters.`;
    if (password.length > 4096) return 'This password is too long.';
    return null;
  }
}
