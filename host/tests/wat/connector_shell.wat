;; A hand-written connector component: the smallest thing that satisfies the contract's
;; exports (manifest, begin, handle), so the host loads it as a connector. The hostile tests in
;; `sandbox_caps.rs` fill in the marked slots with what Rust cannot express: several memories,
;; a grown table, a start function, many core instances, or no contract import at all.
;;
;; Slots (replaced textually by the tests; left as they are, they are comments):
;;   CONTRACT-IMPORT  the import naming the contract version (removed for "imports nothing")
;;   MODULE-EXTRA     extra items in the core module (memories, tables, a start function)
;;   BEGIN-BODY       instructions run by `begin` before it returns no requests
;;   COMPONENT-EXTRA  extra component items (more core instances)
;;
;; Canonical ABI layout used below (wasm32): strings and lists are (ptr, len) pairs; `manifest`
;; returns a pointer to its record; `begin` takes its run-context flat (12 values) and `handle`
;; takes a pointer to its spilled parameters; both return a pointer to a `result` whose 32 zero
;; bytes at 2048 read as `ok` with empty lists and no cursor.
(component
  ;;@CONTRACT-IMPORT
  (import "boxoffice:connector/types@0.2.0" (instance))
  ;;@END

  (core module $m
    (memory (export "memory") 1)
    (global $heap (mut i32) (i32.const 8192))

    ;; A bump allocator: the host lowers strings and lists through it.
    (func (export "realloc") (param $old i32) (param $old_size i32) (param $align i32) (param $new i32) (result i32)
      (local $p i32)
      (local.set $p
        (i32.and
          (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1)))
          (i32.sub (i32.const 0) (local.get $align))))
      (global.set $heap (i32.add (local.get $p) (local.get $new)))
      (block $fits
        (br_if $fits (i32.le_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536))))
        (drop (memory.grow
          (i32.add
            (i32.div_u
              (i32.sub (global.get $heap) (i32.mul (memory.size) (i32.const 65536)))
              (i32.const 65536))
            (i32.const 1)))))
      (local.get $p))

    (func (export "manifest") (result i32) (i32.const 1024))

    (func (export "begin")
      (param i32 i32 i32 i32 i32 i32 i32 i32 i64 i32 i64 i64) (result i32)
      ;;@BEGIN-BODY
      (i32.const 2048))

    (func (export "handle") (param i32) (result i32) (i32.const 2048))

    ;;@MODULE-EXTRA

    (data (i32.const 256) "hostile")
    (data (i32.const 264) "Hostile")
    (data (i32.const 272) "0.0.1")
    (data (i32.const 280) "allowed.test")
    ;; allowed-hosts: one string (ptr 280, len 12)
    (data (i32.const 512) "\18\01\00\00\0c\00\00\00")
    ;; the manifest record
    (data (i32.const 1024)
      "\00\01\00\00\07\00\00\00"   ;; id: ptr 256, len 7
      "\08\01\00\00\07\00\00\00"   ;; vendor: ptr 264, len 7
      "\10\01\00\00\05\00\00\00"   ;; version: ptr 272, len 5
      "\00\02\00\00\01\00\00\00"   ;; allowed-hosts: ptr 512, len 1
      "\00\00\00\00\00\00\00\00"   ;; secrets: empty
      "\00\00\00\00\00\00\00\00"   ;; settings: empty
      "\3c\00\00\00"               ;; default-interval-secs: 60
      "\58\02\00\00"))             ;; max-requests-per-minute: 600

  (core instance $i (instantiate $m))
  (alias core export $i "memory" (core memory $mem))
  (alias core export $i "realloc" (core func $realloc))

  ;;@COMPONENT-EXTRA

  ;; The contract's types, structurally (a type used by an export must itself be exported).
  (type $setting' (record
    (field "name" string) (field "description" string) (field "required" bool)
    (field "default-value" (option string))))
  (export $setting "setting-type" (type $setting'))
  (type $manifest' (record
    (field "id" string) (field "vendor" string) (field "version" string)
    (field "allowed-hosts" (list string)) (field "secrets" (list string))
    (field "settings" (list $setting))
    (field "default-interval-secs" u32) (field "max-requests-per-minute" u32)))
  (export $manifest "manifest-type" (type $manifest'))
  (type $ctx' (record
    (field "account" string) (field "settings" (list (tuple string string)))
    (field "cursor" (option string)) (field "since-ms" (option s64))
    (field "until-ms" (option s64)) (field "now-ms" s64)))
  (export $ctx "run-context-type" (type $ctx'))
  (type $auth' (variant
    (case "none") (case "bearer-header" string) (case "query-param" (tuple string string))))
  (export $auth "auth-type" (type $auth'))
  (type $req' (record
    (field "id" string) (field "method" string) (field "url" string)
    (field "query" (list (tuple string string))) (field "headers" (list (tuple string string)))
    (field "body" (option (list u8))) (field "auth" $auth)))
  (export $req "http-request-type" (type $req'))
  (type $resp' (record
    (field "status" u16) (field "headers" (list (tuple string string))) (field "body" (list u8))))
  (export $resp "http-response-type" (type $resp'))
  (type $page' (record
    (field "records" (list u8)) (field "next" (list $req)) (field "cursor" (option string))))
  (export $page "page-type" (type $page'))
  (type $err' (variant
    (case "bad-response" string) (case "unauthorized" string) (case "retry-later" u32)
    (case "fatal" string)))
  (export $err "plugin-error-type" (type $err'))

  (func $manifest (result $manifest)
    (canon lift (core func $i "manifest") (memory $mem) (realloc $realloc)))
  (export "manifest" (func $manifest))
  (func $begin (param "ctx" $ctx) (result (result (list $req) (error $err)))
    (canon lift (core func $i "begin") (memory $mem) (realloc $realloc)))
  (export "begin" (func $begin))
  (func $handle (param "ctx" $ctx) (param "request" $req) (param "response" $resp)
    (result (result $page (error $err)))
    (canon lift (core func $i "handle") (memory $mem) (realloc $realloc)))
  (export "handle" (func $handle))
)
