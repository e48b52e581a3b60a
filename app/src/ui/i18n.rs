//! The app's words, zh-CN first and English second. A typed table rather than string keys, so
//! a missing translation is a compile error, not a blank button on a teacher's phone.

/// The display language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

/// A coded value's label in `lang` (the labels live with the value, in shared).
pub fn coded(lang: Lang, zh: &'static str, en: &'static str) -> &'static str {
    match lang {
        Lang::Zh => zh,
        Lang::En => en,
    }
}

/// Every phrase the screens show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Msg {
    Caseload,
    Sync,
    Settings,
    Search,
    NoStudents,
    NewVisit,
    Save,
    Back,
    Notes,
    Kind,
    NotSynced,
    AllSynced,
    Guardian,
    Timeline,
    Conflicts,
    DueWork,
    MissingEvidence,
    LogOut,
    ConfirmLogOut,
    Cancel,
    Language,
    Pending,
    Status,
    Voided,
    DeviceCheck,
    Persuasion,
    Saved,
    Saving,
    ReviewFlagged,
    EvidenceRequested,
    ReviewApproved,
    Reviews,
    Photos,
    Location,
    NoLocation,
    LocateDevice,
    LocateFromPhoto,
    LocateManual,
    PhotosWaiting,
    StorageUsed,
    PhotosKept,
    TakePhoto,
    NoCaptureTime,
    CapturedAt,
    AccuracyAbout,
    Metres,
    Latitude,
    Longitude,
    TypeNumbers,
    CannotReadPhoto,
    DropoutReasonLabel,
    MethodLabel,
    OutcomeLabel,
    FollowUpDate,
    NoticeIssued,
    NoticeNumber,
    SubsidyCheck,
    Programme,
    SubsidyReceived,
    AllVillages,
    AllStatuses,
    AllGroups,
    DeviceCheckDone,
    DevicesSeen,
    ProblemsFound,
    Remedy,
    NoRemedyYet,
    RemedyDone,
    ProblemNote,
    FamilyInformed,
    StorageReadFailed,
    SaveFailed,
    SetAside,
    RetryOne,
    NotUploaded,
    ExportForAdmin,
    Exported,
    Downloaded,
    ExportFailed,
}

impl Msg {
    /// The phrase in `lang`.
    pub fn tr(self, lang: Lang) -> &'static str {
        use Msg::*;
        let (zh, en) = match self {
            Caseload => ("我的学生", "My caseload"),
            Sync => ("同步", "Sync"),
            Settings => ("设置", "Settings"),
            Search => ("按姓名搜索", "Search by name"),
            NoStudents => ("暂无学生，请先同步", "No students yet; sync first"),
            NewVisit => ("新增走访", "New visit"),
            Save => ("保存", "Save"),
            Back => ("返回", "Back"),
            Notes => ("走访情况", "Notes"),
            Kind => ("类型", "Kind"),
            NotSynced => ("条记录尚未同步", "records not yet synced"),
            AllSynced => ("全部记录已同步", "everything is synced"),
            Guardian => ("监护人", "Guardian"),
            Timeline => ("记录", "Timeline"),
            Conflicts => ("待核实的冲突", "Conflicts to review"),
            DueWork => ("待办", "Due work"),
            MissingEvidence => ("缺少的佐证", "Missing evidence"),
            LogOut => ("退出登录", "Log out"),
            ConfirmLogOut => (
                "仍有未同步的记录，退出将永久丢失这些记录。确定退出？",
                "Unsynced records will be lost for good. Log out anyway?",
            ),
            Cancel => ("取消", "Cancel"),
            Language => ("语言", "Language"),
            Pending => ("待上传", "pending upload"),
            Status => ("学籍状态", "Status"),
            Voided => ("已作废", "voided"),
            DeviceCheck => ("学习设备检查（一看二问三查）", "Device check"),
            Persuasion => ("劝返", "Persuasion"),
            Saving => ("保存中…", "Saving…"),
            Saved => (
                "已保存在手机上，尚未同步",
                "Saved on the phone, not yet synced",
            ),
            ReviewFlagged => ("督导存疑", "Flagged by reviewer"),
            EvidenceRequested => ("督导要求补充证据", "Reviewer asks for evidence"),
            ReviewApproved => ("督导已通过", "Approved by reviewer"),
            Reviews => ("督导意见", "Supervisor comments"),
            Photos => ("照片", "Photos"),
            Location => ("位置", "Location"),
            NoLocation => ("尚未定位", "No location yet"),
            LocateDevice => ("手机定位", "Use the phone's position"),
            LocateFromPhoto => ("用照片位置", "Use the photo's position"),
            LocateManual => ("使用手动填写的位置", "Use the typed position"),
            PhotosWaiting => ("张照片待上传", "photos waiting to upload"),
            StorageUsed => ("手机存储占用", "Storage used"),
            PhotosKept => ("张照片", "photos"),
            TakePhoto => ("拍照 / 选择照片", "Take or choose a photo"),
            NoCaptureTime => ("照片无拍摄时间", "No capture time in the photo"),
            CapturedAt => ("拍摄于", "Taken at"),
            AccuracyAbout => ("精度约", "accuracy about"),
            Metres => ("米", "m"),
            Latitude => ("纬度", "Latitude"),
            Longitude => ("经度", "Longitude"),
            TypeNumbers => (
                "请填写数字形式的纬度和经度",
                "Type the latitude and longitude as numbers",
            ),
            CannotReadPhoto => ("无法读取照片文件", "The photo file cannot be read"),
            DropoutReasonLabel => ("辍学原因", "Reason for dropping out"),
            MethodLabel => ("劝返方式（四个一批）", "Method (the four levels)"),
            OutcomeLabel => ("结果", "Outcome"),
            FollowUpDate => ("下次回访日期", "Next follow-up date"),
            NoticeIssued => ("已发限期返校通知书", "Deadline-to-return notice issued"),
            NoticeNumber => ("通知书文号", "Notice number"),
            SubsidyCheck => ("资助核实", "Subsidy check"),
            Programme => ("资助项目", "Programme"),
            SubsidyReceived => ("家庭已收到资助", "The family received the subsidy"),
            AllVillages => ("全部村", "All villages"),
            AllStatuses => ("全部状态", "All statuses"),
            AllGroups => ("全部群体", "All groups"),
            DeviceCheckDone => (
                "本次做了学习设备检查",
                "A device check was done on this visit",
            ),
            DevicesSeen => ("一看：看到的学习设备", "Look: learning devices seen"),
            ProblemsFound => ("发现的问题", "Problems found"),
            Remedy => ("解决办法", "Remedy"),
            NoRemedyYet => ("尚未落实", "none yet"),
            RemedyDone => ("已当场解决", "Done on the spot"),
            ProblemNote => ("问题说明（选填）", "Note (optional)"),
            FamilyInformed => ("已告知家庭资助政策", "The family was told of the subsidy"),
            StorageReadFailed => (
                "手机存储读取失败，档案暂时无法显示。数据没有丢失：请重启应用后再看；仍不行请联系学校管理员。",
                "The phone's storage could not be read. Nothing is lost: restart the app; if it persists, contact the school admin.",
            ),
            SetAside => ("未被服务器接收的记录", "Records the server did not accept"),
            RetryOne => ("重新提交", "Submit again"),
            NotUploaded => ("有记录未上传", "A record was not uploaded"),
            ExportForAdmin => ("导出给学校管理员", "Export for the school admin"),
            Exported => ("已导出到", "Exported to"),
            Downloaded => (
                "已下载到手机的“下载”文件夹，请发给学校管理员",
                "Downloaded to the phone's Downloads; send it to the school admin",
            ),
            ExportFailed => ("导出失败", "Export failed"),
            SaveFailed => (
                "未能保存：手机存储出错。填写的内容仍在表单中，请再点一次保存；仍不行请联系学校管理员。",
                "Not saved: the phone's storage failed. Your answers are still in the form; tap Save again, and contact the school admin if it persists.",
            ),
        };
        match lang {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_is_the_default_and_english_differs() {
        assert_eq!(Lang::default(), Lang::Zh);
        assert_eq!(Msg::Caseload.tr(Lang::default()), "我的学生");
        assert_eq!(Msg::Caseload.tr(Lang::En), "My caseload");
    }
}
