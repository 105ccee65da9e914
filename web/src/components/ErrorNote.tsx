// ErrorNote: a failure to show beside what it is about (a form, a listing), announced to screen
// readers as it appears; nothing when there is none.
export function ErrorNote({ message }: { message: string | null | undefined }) {
  if (!message) return null;
  return (
    <p className="form-error" role="alert">
      {message}
    </p>
  );
}
