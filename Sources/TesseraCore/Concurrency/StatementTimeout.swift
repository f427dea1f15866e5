/// The statement timeout the read router chose for the read running in this task, when the
/// node it runs on sits behind a transaction pooler (`DatabaseURL.Pooling.transaction`).
///
/// There the router cannot set a timeout on the session: the next transaction on that
/// client connection may run on another server connection, and the one it set would stay
/// behind on a server connection that other clients share. So it leaves the value here, and
/// whatever opens a transaction for the read sets it with `SET LOCAL` semantics as its
/// first statement (`TenantScope.enter`). A read of one statement outside a transaction runs
/// under the role's own `statement_timeout` (README: Behind a pooler).
package enum StatementTimeout {
    @TaskLocal package static var milliseconds: Int?
}
