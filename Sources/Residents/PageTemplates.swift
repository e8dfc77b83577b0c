import Mustache

/// The mobile page's templates (Mustache: every `{{value}}` is HTML-escaped). No script
/// and nothing loaded from elsewhere: one inline style sheet, plain forms.
enum PageTemplates {
    /// The templates, parsed once; a parse failure (a mistake in this file, caught by the
    /// page tests) is kept and answered as an internal error, never a crash.
    static let library: Result<MustacheLibrary, any Error> = Result {
        var library = MustacheLibrary()
        for (name, text) in [("layout", layout), ("home", home), ("submitted", submitted), ("follow", follow), ("error", error)] {
            try library.register(text, named: name)
        }
        return library
    }

    static let style = """
        *{box-sizing:border-box}body{margin:0;font-family:"Noto Sans CJK SC","WenQuanYi Micro Hei",sans-serif;font-size:16px;
        line-height:1.5;color:#1b1b1b;background:#f4f6f8}header{background:#0b6e4f;color:#fff;padding:12px 16px;display:flex;
        justify-content:space-between;align-items:center}header h1{font-size:20px;margin:0}header a{color:#fff}
        main{max-width:640px;margin:0 auto;padding:12px}section{background:#fff;border-radius:8px;padding:16px;margin:12px 0;
        box-shadow:0 1px 2px rgba(0,0,0,.08)}h2{font-size:18px;margin:0 0 12px}label{display:block;font-weight:600;margin:12px 0 4px}
        input,select,textarea{width:100%;font-size:16px;padding:10px;border:1px solid #9aa5b1;border-radius:6px;background:#fff}
        textarea{min-height:120px}button{margin-top:16px;width:100%;font-size:17px;padding:12px;border:0;border-radius:6px;
        background:#0b6e4f;color:#fff}.hint{color:#52606d;font-size:14px}.error{background:#fde8e8;color:#8a1c1c;border-radius:6px;
        padding:10px;margin:8px 0}.notice{background:#e3f6ec;color:#0b4d36;border-radius:6px;padding:10px;margin:8px 0}
        .number{font-size:22px;font-weight:700;letter-spacing:1px;word-break:break-all}ol{padding-left:20px}dt{font-weight:600}
        dd{margin:0 0 8px}.idea h3{font-size:16px;margin:8px 0 4px}.idea p{margin:4px 0}.scores{display:flex;gap:8px}.scores label{font-weight:400;margin:0}.scores input{width:auto}
        """

    static let layout = """
        <!DOCTYPE html>
        <html lang="{{htmlLang}}"><head><meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{t.title}}</title><style>{{{style}}}</style></head>
        <body><header><h1>{{t.title}}</h1><a href="{{otherLink}}" id="language">{{t.otherLanguage}}</a></header>
        <main>{{{content}}}</main></body></html>
        """

    static let home = """
        {{#error}}<div class="error" role="alert" id="error">{{error}}</div>{{/error}}
        <section><h2>{{t.submitHeading}}</h2>
        <form method="post" action="/submit" id="submit-form">
        <input type="hidden" name="lang" value="{{lang}}">
        <label for="kind">{{t.kind}}</label><select id="kind" name="kind">{{#kinds}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/kinds}}</select>
        <label for="category">{{t.category}}</label><select id="category" name="category">{{#categories}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/categories}}</select>
        <label for="community">{{t.community}}</label><select id="community" name="community">{{#communities}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/communities}}</select>
        <label for="description">{{t.description}}</label><textarea id="description" name="description" required maxlength="2000">{{form.description}}</textarea>
        <label for="address">{{t.address}}</label><input id="address" name="address" required maxlength="200" value="{{form.address}}">
        <label for="name">{{t.name}}</label><input id="name" name="name" maxlength="50" value="{{form.name}}" autocomplete="name">
        <label for="phone">{{t.phone}}</label><input id="phone" name="phone" type="tel" required inputmode="numeric" maxlength="13" value="{{form.phone}}" autocomplete="tel">
        <p class="hint">{{t.privacy}}</p>
        <button type="submit" id="submit">{{t.submit}}</button></form></section>
        <section><h2>{{t.followHeading}}</h2>
        <form method="post" action="/follow" id="follow-form"><input type="hidden" name="lang" value="{{lang}}">
        <label for="number">{{t.number}}</label><input id="number" name="number" required value="{{form.number}}">
        <label for="tail">{{t.tail}}</label><input id="tail" name="tail" required inputmode="numeric" maxlength="4" pattern="[0-9]{4}">
        <button type="submit" id="follow">{{t.follow}}</button></form></section>
        {{#hasIdeas}}<section id="ideas"><h2>{{t.ideasHeading}}</h2>{{#ideas}}<article class="idea"><h3>{{title}}</h3><p>{{text}}</p>
        <p class="hint">{{office}} · {{stage}}{{#reward}} · {{reward}}{{/reward}}</p></article>{{/ideas}}</section>{{/hasIdeas}}
        """

    static let submitted = """
        <section><h2>{{t.submittedHeading}}</h2><p>{{t.yourNumber}}</p><p class="number" id="case-number">{{number}}</p>
        <p class="hint">{{t.keepNumber}}</p>
        <form method="post" action="/follow"><input type="hidden" name="lang" value="{{lang}}"><input type="hidden" name="number" value="{{number}}">
        <label for="tail">{{t.tail}}</label><input id="tail" name="tail" required inputmode="numeric" maxlength="4" pattern="[0-9]{4}">
        <button type="submit" id="follow">{{t.follow}}</button></form></section>
        """

    static let follow = """
        {{#notice}}<div class="notice" role="status" id="notice">{{notice}}</div>{{/notice}}
        {{#error}}<div class="error" role="alert" id="error">{{error}}</div>{{/error}}
        <section><h2>{{t.statusHeading}}</h2><p class="number" id="case-number">{{number}}</p>
        <dl><dt>{{t.status}}</dt><dd id="status">{{status}}</dd><dt>{{t.service}}</dt><dd>{{service}}</dd>
        <dt>{{t.agency}}</dt><dd id="agency">{{agency}}</dd><dt>{{t.requested}}</dt><dd>{{requested}}</dd>
        <dt>{{t.due}}</dt><dd>{{due}}</dd></dl></section>
        <section><h2>{{t.answerHeading}}</h2>{{#answer}}<p id="answer">{{answer}}</p>{{/answer}}{{^answer}}<p class="hint" id="no-answer">{{t.noAnswer}}</p>{{/answer}}
        {{#rating}}<p id="rating">{{t.yourRating}} {{rating}} / 5</p>{{/rating}}</section>
        {{#suggestion}}<section id="suggestion"><h2>{{t.suggestionHeading}}</h2><dl><dt>{{t.suggestionStage}}</dt><dd id="suggestion-stage">{{stage}}</dd>
        {{#reason}}<dt>{{t.suggestionReason}}</dt><dd id="suggestion-reason">{{reason}}</dd>{{/reason}}
        {{#reward}}<dt>{{t.suggestionReward}}</dt><dd id="suggestion-reward">{{reward}}</dd>{{/reward}}
        {{#implemented}}<dt>{{t.suggestionImplemented}}</dt><dd>{{implemented}}</dd>{{/implemented}}</dl>
        <ol id="suggestion-steps">{{#steps}}<li>{{at}} {{label}}</li>{{/steps}}</ol></section>{{/suggestion}}
        <section><h2>{{t.timelineHeading}}</h2><ol id="timeline">{{#timeline}}<li>{{at}} {{label}}</li>{{/timeline}}</ol></section>
        {{#mayRate}}<section><h2>{{t.rateHeading}}</h2><form method="post" action="/rate" id="rate-form">
        <input type="hidden" name="lang" value="{{lang}}"><input type="hidden" name="number" value="{{number}}"><input type="hidden" name="tail" value="{{tail}}">
        <fieldset class="scores"><legend>{{t.score}}</legend>{{#scores}}<label><input type="radio" name="score" value="{{.}}" id="score-{{.}}" required> {{.}}</label>{{/scores}}</fieldset>
        <label for="comment">{{t.comment}}</label><textarea id="comment" name="comment" maxlength="2000"></textarea>
        <button type="submit" id="rate">{{t.rate}}</button></form></section>{{/mayRate}}
        <section><h2>{{t.messageHeading}}</h2><form method="post" action="/message" id="message-form">
        <input type="hidden" name="lang" value="{{lang}}"><input type="hidden" name="number" value="{{number}}"><input type="hidden" name="tail" value="{{tail}}">
        <label for="text">{{t.message}}</label><textarea id="text" name="text" required maxlength="2000"></textarea>
        <button type="submit" id="send">{{t.send}}</button></form></section>
        <p><a href="/?lang={{lang}}">{{t.home}}</a></p>
        """

    static let error = """
        <section><div class="error" role="alert" id="error">{{error}}</div><p><a href="/?lang={{lang}}">{{t.home}}</a></p></section>
        """
}
