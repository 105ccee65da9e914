// `migsbyu user ...` and `migsbyu token ...`: sign-in's users and bearer tokens from the shell,
// through the same rules as the admin routes (auth/accounts.h). A serving process sees each
// change within its poll interval (a revoked token or a disabled user is refused from then on).
// Passwords come from a prompt with echo off, or from the first line of stdin with
// --password-stdin; never from the command line, where other users could read them.
#include <pwd.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "app/commands.h"
#include "auth/accounts.h"
#include "oltp/migrations.h"
#include "pg/connection.h"

namespace migsbyu::app {
namespace {

struct AccountFlags {
  std::string database_url = DefaultDatabaseUrl();
  std::string name;
  std::string role;
  bool pii = false;
  bool password_stdin = false;
  int expires_days = 0;
  bool all = false;
};

[[noreturn]] void Fail(const std::string& command, const Error& error) {
  // A validation error's fields say what to fix.
  std::string message = error.message();
  for (const auto& f : error.fields()) message += "; " + f.field + ": " + f.message;
  throw CLI::RuntimeError(command + ": " + message, 1);
}

template <typename T>
T OrFail(const std::string& command, Result<T> result) {
  if (!result.ok()) Fail(command, result.error());
  return std::move(result).value();
}

// The database, migrated (so the commands work on a fresh one too).
pg::Connection Open(const std::string& command, const std::string& url) {
  auto conn = OrFail(command, pg::Connection::Open(url));
  OrFail(command, oltp::ApplyMigrations(conn));
  return conn;
}

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string StripNewline(std::string line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  return line;
}

// One line from the terminal with its echo off.
std::optional<std::string> Prompt(const char* question) {
  std::FILE* tty = std::fopen("/dev/tty", "r+");
  if (tty == nullptr) return std::nullopt;
  const int fd = ::fileno(tty);
  termios before{};
  const bool is_terminal = ::tcgetattr(fd, &before) == 0;
  if (is_terminal) {
    termios quiet = before;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(fd, TCSAFLUSH, &quiet);
  }
  std::fputs(question, tty);
  std::fflush(tty);
  std::string line;
  for (int c = std::fgetc(tty); c != EOF && c != '\n'; c = std::fgetc(tty)) {
    line.push_back(static_cast<char>(c));
  }
  if (is_terminal) ::tcsetattr(fd, TCSAFLUSH, &before);
  std::fputs("\n", tty);
  std::fclose(tty);
  return StripNewline(line);
}

std::string ReadPassword(const std::string& command, const AccountFlags& flags) {
  if (flags.password_stdin) {
    std::string line;
    if (!std::getline(std::cin, line)) {
      throw CLI::RuntimeError(command + ": --password-stdin: no line on stdin", 1);
    }
    return StripNewline(line);
  }
  auto first = Prompt(("New password for " + flags.name + ": ").c_str());
  if (!first) {
    throw CLI::RuntimeError(command +
                                ": no terminal to ask for the password on; pipe it in with "
                                "--password-stdin",
                            1);
  }
  auto again = Prompt("The same again: ");
  if (!again || *again != *first) throw CLI::RuntimeError(command + ": the two did not match", 1);
  return *first;
}

std::string Yes(bool b) { return b ? "yes" : "no"; }

std::string ShellUser() {
  const passwd* pw = ::getpwuid(::geteuid());
  return std::string("shell:") + (pw != nullptr ? pw->pw_name : std::to_string(::geteuid()));
}

std::string Date(int64_t us) {
  time_t s = static_cast<time_t>(us / 1000000);
  tm t{};
  ::gmtime_r(&s, &t);
  char buf[32];
  return std::string(buf, ::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &t));
}

void AddDatabaseOption(CLI::App* cmd, AccountFlags* flags) {
  cmd->add_option("--database-url", flags->database_url,
                  "PostgreSQL URL (default: DATABASE_URL or the embedded cluster)")
      ->capture_default_str();
}

CLI::Option* AddPiiFlag(CLI::App* cmd, AccountFlags* flags) {
  return cmd->add_flag("--pii,!--no-pii", flags->pii,
                       "May see address and date of birth unmasked (default: yes for admin and "
                       "registrar, no for analyst and viewer)");
}

}  // namespace

void AddUserCommand(CLI::App& app) {
  auto* user = app.add_subcommand("user", "Sign-in users: add, list, passwd, set, disable, enable");
  user->require_subcommand(1);
  auto flags = std::make_shared<AccountFlags>();

  auto* add = user->add_subcommand("add", "Add a user (asks for the password)");
  add->add_option("name", flags->name, "User name: a-z 0-9 . _ -")->required();
  add->add_option("--role", flags->role, "viewer, analyst, registrar or admin")->required();
  auto* add_pii = AddPiiFlag(add, flags.get());
  add->add_flag("--password-stdin", flags->password_stdin, "Read the password from stdin");
  AddDatabaseOption(add, flags.get());
  add->callback([flags, add_pii] {
    const std::string cmd = "user add";
    auth::NewUser u;
    u.name = flags->name;
    u.role = OrFail(cmd, auth::RoleNamed(flags->role));
    if (add_pii->count() > 0) u.pii = flags->pii;
    OrFail(cmd, auth::CheckName(u.name));
    u.password = ReadPassword(cmd, *flags);
    auto conn = Open(cmd, flags->database_url);
    auth::PasswordHasher hasher;
    auto created = OrFail(cmd, auth::AddUser(conn, hasher, u));
    std::printf("user %s added: role %s, pii %s\n", created.name.c_str(),
                std::string(portal::RoleName(created.role)).c_str(), Yes(created.pii).c_str());
  });

  auto* list = user->add_subcommand("list", "List the users (never their passwords)");
  AddDatabaseOption(list, flags.get());
  list->callback([flags] {
    auto conn = Open("user list", flags->database_url);
    auto users = OrFail("user list", auth::ListUsers(conn));
    std::printf("%-24s %-10s %-4s %-9s %s\n", "name", "role", "pii", "disabled", "created");
    for (const auto& u : users) {
      std::printf("%-24s %-10s %-4s %-9s %s\n", u.name.c_str(),
                  std::string(portal::RoleName(u.role)).c_str(), Yes(u.pii).c_str(),
                  Yes(u.disabled).c_str(), Date(u.created_us).c_str());
    }
  });

  auto change = [flags](const std::string& cmd, auth::UserChange c, const std::string& what) {
    auto conn = Open(cmd, flags->database_url);
    auth::PasswordHasher hasher;
    OrFail(cmd, auth::ChangeUser(conn, hasher, flags->name, c, NowMicros()));
    std::printf("user %s: %s\n", flags->name.c_str(), what.c_str());
  };

  auto* passwd = user->add_subcommand("passwd", "Set a user's password (ends their sessions)");
  passwd->add_option("name", flags->name, "User name")->required();
  passwd->add_flag("--password-stdin", flags->password_stdin, "Read the password from stdin");
  AddDatabaseOption(passwd, flags.get());
  passwd->callback([flags, change] {
    auth::UserChange c;
    c.password = ReadPassword("user passwd", *flags);
    change("user passwd", c, "password changed; their sessions are ended");
  });

  auto* set = user->add_subcommand("set", "Change a user's role or pii grant");
  set->add_option("name", flags->name, "User name")->required();
  set->add_option("--role", flags->role, "viewer, analyst, registrar or admin");
  auto* set_pii = AddPiiFlag(set, flags.get());
  AddDatabaseOption(set, flags.get());
  set->callback([flags, change, set_pii] {
    auth::UserChange c;
    if (!flags->role.empty()) c.role = OrFail("user set", auth::RoleNamed(flags->role));
    if (set_pii->count() > 0) c.pii = flags->pii;
    change("user set", c, "changed");
  });

  for (bool disable : {true, false}) {
    auto* sub = user->add_subcommand(
        disable ? "disable" : "enable",
        disable ? "Disable a user: refused at once, sessions ended" : "Enable a disabled user");
    sub->add_option("name", flags->name, "User name")->required();
    AddDatabaseOption(sub, flags.get());
    sub->callback([change, disable] {
      auth::UserChange c;
      c.disabled = disable;
      change(disable ? "user disable" : "user enable", c, disable ? "disabled" : "enabled");
    });
  }
}

void AddTokenCommand(CLI::App& app) {
  auto* token = app.add_subcommand("token", "Bearer tokens for scripts: create, list, revoke");
  token->require_subcommand(1);
  auto flags = std::make_shared<AccountFlags>();

  auto* create =
      token->add_subcommand("create", "Create a token; prints its secret once, alone on stdout");
  create->add_option("--name", flags->name, "Token name: a-z 0-9 . _ -")->required();
  create->add_option("--role", flags->role, "viewer, analyst, registrar or admin")->required();
  auto* pii = AddPiiFlag(create, flags.get());
  create
      ->add_option("--expires-days", flags->expires_days, "Days until it expires (default: never)")
      ->check(CLI::Range(1, 3650));
  AddDatabaseOption(create, flags.get());
  create->callback([flags, pii] {
    const std::string cmd = "token create";
    auth::NewToken t;
    t.name = flags->name;
    t.role = OrFail(cmd, auth::RoleNamed(flags->role));
    if (pii->count() > 0) t.pii = flags->pii;
    const int64_t now = NowMicros();
    if (flags->expires_days > 0) t.expires_us = now + int64_t{flags->expires_days} * 86400000000;
    t.created_by = ShellUser();
    auto conn = Open(cmd, flags->database_url);
    auto created = OrFail(cmd, auth::AddToken(conn, t, now));
    std::fprintf(stderr,
                 "token %s (id %lld): role %s, pii %s; keep the secret below, it is not "
                 "shown again\n",
                 created.token.name.c_str(), static_cast<long long>(created.token.id),
                 std::string(portal::RoleName(created.token.role)).c_str(),
                 Yes(created.token.pii).c_str());
    std::printf("%s\n", created.secret.c_str());
  });

  auto* list = token->add_subcommand("list", "List the tokens (never their secrets)");
  list->add_flag("--all", flags->all, "Revoked ones too");
  AddDatabaseOption(list, flags.get());
  list->callback([flags] {
    auto conn = Open("token list", flags->database_url);
    auto tokens = OrFail("token list", auth::ListTokens(conn, flags->all));
    std::printf("%-6s %-24s %-10s %-4s %-20s %s\n", "id", "name", "role", "pii", "created",
                "state");
    for (const auto& t : tokens) {
      std::string state = t.revoked_us   ? "revoked " + Date(*t.revoked_us)
                          : t.expires_us ? "expires " + Date(*t.expires_us)
                                         : "live";
      std::printf("%-6lld %-24s %-10s %-4s %-20s %s\n", static_cast<long long>(t.id),
                  t.name.c_str(), std::string(portal::RoleName(t.role)).c_str(), Yes(t.pii).c_str(),
                  Date(t.created_us).c_str(), state.c_str());
    }
  });

  auto* revoke = token->add_subcommand("revoke", "Revoke a live token by name");
  revoke->add_option("name", flags->name, "Token name")->required();
  AddDatabaseOption(revoke, flags.get());
  revoke->callback([flags] {
    auto conn = Open("token revoke", flags->database_url);
    OrFail("token revoke", auth::RevokeTokenNamed(conn, flags->name, NowMicros()));
    std::printf("token %s revoked\n", flags->name.c_str());
  });
}

}  // namespace migsbyu::app
