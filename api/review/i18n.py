"""The workbench's words in Japanese (default: the clerks are agency staff) and English."""
from __future__ import annotations

from jukimatch.engine.compare.levels import LEVEL_LABELS
from jukimatch.engine.outcomes import REASONS

LANGS = ("ja", "en")

_TEXT: dict[str, tuple[str, str]] = {
    "title": ("照合レビュー", "Review workbench"),
    "login": ("ログイン", "Log in"), "logout": ("ログアウト", "Log out"),
    "token": ("アクセストークン", "Access token"),
    "login_failed": ("トークンが無効か、この画面を使えない役割です。", "Unknown token, or a role that may not use the workbench."),
    "expired": ("一定時間操作がなかったため、ログアウトしました。", "Your session expired after a pause; log in again."),
    "queue": ("キュー", "Queue"), "approvals": ("承認待ち", "Approvals"),
    "progress": ("進捗", "Progress"), "decided": ("判定済み", "decided"), "remaining": ("残り", "remaining"),
    "proposed": ("承認待ち", "awaiting approval"),
    "reason": ("理由", "Reason"), "municipality": ("市区町村", "Municipality"),
    "nationality": ("国籍", "Nationality"), "run": ("実行", "Run"), "status": ("状態", "Status"),
    "any": ("すべて", "any"), "filter": ("絞り込み", "Filter"), "next_case": ("次の案件", "Next case"),
    "person": ("個人管理番号", "Person id"), "candidates": ("候補", "Candidates"),
    "held_by": ("担当中", "Held by"), "no_cases": ("該当する案件はありません。", "No case matches."),
    "more": ("次のページ", "Next page"),
    "agency": ("入管の記録", "Agency record"), "candidate": ("候補", "Candidate"),
    "field": ("項目", "Field"), "raw": ("原文", "as written"), "normal": ("正規化", "normalised"),
    "level": ("水準", "level"), "weight": ("重み", "weight"), "total": ("合計", "total"),
    "probability": ("一致確率", "match probability"), "my_number": ("個人番号", "My Number"),
    "reveal": ("表示", "Show"), "revealed": ("表示中（記録済み）", "shown (audited)"),
    "reasons_title": ("レビューの理由", "Why a person must look"),
    "related": ("関連する記録", "Related agency records"),
    "decide": ("判定", "Decide"), "confirm": ("候補を確認", "Confirm candidate"),
    "no_match": ("該当なし", "No match"), "reinquire": ("再照会", "Inquire again"),
    "escalate": ("上位者へ", "Escalate"), "note": ("メモ（確認以外は必須）", "Note (required except for confirm)"),
    "submit": ("送信", "Submit"), "keys": ("キー操作", "Keys"),
    "keys_help": ("1–9 候補を選ぶ, n 該当なし, r 再照会, e 上位者へ, Enter 送信, j/k 次/前の案件",
                  "1–9 choose candidate, n no match, r inquire again, e escalate, Enter submit, "
                  "j/k next/previous case"),
    "approve": ("承認", "Approve"), "return": ("差し戻し", "Return"),
    "approval_note": ("メモ（差し戻しは必須）", "Note (required to return)"),
    "proposed_by": ("提案者", "Proposed by"), "history": ("履歴", "History"),
    "saved": ("判定を保存しました", "Decision saved"),
    "case_leased": ("この案件は他の担当者が作業中です。", "Another person is working this case."),
    "forbidden_form": ("フォームが無効です（CSRFトークンがありません）。", "The form is not valid (CSRF token missing)."),
    "read_only": ("この案件は現在判定できません。", "This case cannot be decided now."),
    "none": ("なし", "none"), "back": ("キューへ戻る", "Back to the queue"),
    "language": ("English", "日本語"),
    "field_name_alpha": ("氏名（英字）", "Name (alphabet)"), "field_name_kanji": ("氏名（漢字）", "Name (kanji)"),
    "field_name_kana": ("氏名（カナ）", "Name (kana)"), "field_birth_date": ("生年月日", "Birth date"),
    "field_sex": ("性別", "Sex"), "field_address": ("住所", "Address"),
    "st_open": ("未判定", "open"), "st_escalated": ("上位者判断", "escalated"), "st_proposed": ("承認待ち", "proposed"),
    "st_registered": ("登録済み", "registered"), "st_no_match": ("該当なし", "no match"),
    "st_reinquire": ("再照会", "inquire again"), "st_superseded": ("置換済み", "superseded"),
}

_REASONS_JA = {
    "uncertain": "最有力候補が強くも弱くもない", "ambiguous": "複数の候補があり得る",
    "check_digit": "返ってきた番号のチェックデジットが誤り", "number_format": "返ってきた番号が12桁でない",
    "number_shared": "同じ番号が複数の人に割り当たる", "held_by_other": "番号が既に別の人のもの",
    "held_number_differs": "この人は既に別の番号を持っている", "sex_mismatch": "性別が矛盾する",
    "birth_date_mismatch": "生年月日が矛盾する", "gaiji": "氏名に外字（私用領域の文字）がある",
    "name_conflict": "氏名の表記の一つが一致し、別の表記が明確に異なる",
    "address_elsewhere": "住所が別の市区町村（転居者か同姓同名の別人）",
    "weak_corroboration": "氏名・生年月日・住所のうち二つが完全には一致しない",
    "response_invalid": "この人への回答行に不備があり隔離された",
    "duplicate_record": "入管の記録に同じ人が二重に登録されている可能性",
    "namesake_twin": "基本4情報で区別できない二人の在留者",
    "weak_candidates": "別人の記録しか返ってこなかった", "not_found": "住基ネットに記録がない",
    "namesake_risk": "番号が同姓同名の別人のものである確率が許容リスク（--max-risk）を超える",
}
_REASONS_EN = {
    "duplicate_record": "the same human appears twice in the agency's records",
    "namesake_twin": "two residents the 4 information cannot tell apart",
} | dict(REASONS)


_REFUSALS_JA = {
    "case_leased": "この案件は他の担当者が作業中です",
    "case_not_open": "この案件は今は判定できません",
    "number_registered_elsewhere": "この番号は既に別の人に登録されています",
    "number_proposed_elsewhere": "この番号は既に別の人に提案され、承認待ちです",
    "person_holds_other_number": "この人は既に別の番号を持っています",
    "number_invalid": "この番号は登録できません",
    "four_eyes": "提案者は自分の提案を承認できません（別の上位者が承認します）",
    "nothing_to_approve": "承認待ちの提案がありません",
    "note_required": "メモを入力してください",
    "candidate_required": "候補を選んでください",
    "unknown_candidate": "その候補はありません",
    "unknown_case": "この個人管理番号の案件はありません",
}


def refusal_text(lang: str, code: str, message: str) -> str:
    """A refusal for people: in Japanese first when known, the service's own message after."""
    ja = _REFUSALS_JA.get(code) if lang != "en" else None
    return f"{ja}（{message}）" if ja else message


def text(lang: str, key: str) -> str:
    """The word for ``key`` in ``lang`` (Japanese when unknown)."""
    ja, en = _TEXT.get(key, (key, key))
    return en if lang == "en" else ja


def reason_text(lang: str, code: str) -> str:
    """A reason code explained in words."""
    table = _REASONS_EN if lang == "en" else _REASONS_JA
    return table.get(code) or _REASONS_EN.get(code) or code


def level_text(field: str, level: int | None) -> str:
    """The comparison level's meaning (the engine's labels)."""
    if level is None:
        return ""
    return LEVEL_LABELS.get(field, {}).get(int(level), str(level))
